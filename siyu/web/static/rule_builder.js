/* The audience rule builder (templates/audiences/rule_builder.html).
 *
 * The JSON rule tree lives in a hidden input (the form field that is submitted); the
 * builder renders it as nested groups and conditions, writes every edit back to the
 * hidden input, and asks the console for the readable text and the live count
 * (debounced) after each change. Field names, operators and labels come from the
 * field catalogue (/console/audiences/rules/fields), never from this file, so the
 * builder offers only what the server accepts.
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 400;
  var SET_OPS = ["is_set", "is_not_set"];

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(child);
    });
    return node;
  }

  function select(className, options, current, onChange) {
    var node = el("select", { className: className });
    options.forEach(function (option) {
      var item = el("option", { value: option[0], text: option[1] });
      if (String(option[0]) === String(current)) item.selected = true;
      node.appendChild(item);
    });
    node.addEventListener("change", function () { onChange(node.value); });
    return node;
  }

  function input(className, type, value, onInput, extra) {
    var node = el("input", Object.assign({ className: className, type: type }, extra || {}));
    node.value = value === undefined || value === null ? "" : String(value);
    node.addEventListener("input", function () { onInput(node.value); });
    return node;
  }

  function groupKey(node) {
    return "all" in node ? "all" : ("any" in node ? "any" : null);
  }

  function Builder(root) {
    this.root = root;
    this.hidden = root.querySelector("[data-rule-input]");
    this.tree = root.querySelector("[data-rule-tree]");
    this.text = root.querySelector("[data-rule-text]");
    this.count = root.querySelector("[data-rule-count]");
    this.error = root.querySelector("[data-rule-error]");
    this.sample = root.querySelector("[data-rule-sample]");
    this.words = JSON.parse(root.getAttribute("data-i18n") || "{}");
    this.chinese = (document.documentElement.lang || "zh").indexOf("zh") === 0;
    this.timer = null;
    this.sequence = 0;
    this.rule = this.initialRule();
  }

  Builder.prototype.w = function (key) { return this.words[key] || key; };

  Builder.prototype.label = function (item) { return this.chinese ? item.zh : item.en; };

  Builder.prototype.initialRule = function () {
    var rule = null;
    try { rule = this.hidden.value ? JSON.parse(this.hidden.value) : null; } catch (error) { rule = null; }
    if (!rule || typeof rule !== "object") return { all: [] };
    return groupKey(rule) ? rule : { all: [rule] };
  };

  Builder.prototype.start = function () {
    var self = this;
    fetch(this.root.getAttribute("data-fields-url"), { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (catalogue) {
        self.catalogue = catalogue;
        self.render();
        self.changed(false);
      });
  };

  Builder.prototype.fields = function (kind) {
    return kind === "trait" ? this.catalogue.traits : this.catalogue.attributes;
  };

  Builder.prototype.findField = function (list, name) {
    for (var index = 0; index < list.length; index += 1) {
      if (list[index].name === name) return list[index];
    }
    return null;
  };

  Builder.prototype.propertyField = function (eventType, name) {
    var list = eventType === "order" ? this.catalogue.order_properties : this.catalogue.event_properties;
    var found = this.findField(list, name);
    if (found) return found;
    if (eventType !== "order" && name && name.indexOf(this.catalogue.properties_prefix) === 0) {
      var key = name.slice(this.catalogue.properties_prefix.length);
      return { name: name, type: "json", zh: key, en: key, operators: this.catalogue.json_operators, choices: [] };
    }
    return null;
  };

  // Serialising -------------------------------------------------------------------

  Builder.prototype.changed = function (structural) {
    if (structural) this.render();
    var children = this.rule[groupKey(this.rule)];
    this.hidden.value = children.length ? JSON.stringify(this.rule) : "";
    this.hidden.dispatchEvent(new Event("change", { bubbles: true }));
    this.schedule();
  };

  Builder.prototype.schedule = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.preview(); }, DEBOUNCE_MS);
  };

  Builder.prototype.preview = function () {
    var self = this;
    var sequence = (this.sequence += 1);
    if (!this.hidden.value) {
      this.show({ count: null, text: this.w("empty"), error: null, sample: [] });
      return;
    }
    this.root.classList.add("rule-loading");
    fetch(this.root.getAttribute("data-preview-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrfToken() },
      body: JSON.stringify({ rule: JSON.parse(this.hidden.value) })
    })
      .then(function (response) { return response.json(); })
      .then(function (data) { if (sequence === self.sequence) self.show(data); })
      .catch(function () { if (sequence === self.sequence) self.show({ error: { reason: self.w("failed") } }); });
  };

  Builder.prototype.show = function (data) {
    this.root.classList.remove("rule-loading");
    if (data.error) {
      this.error.textContent = (data.error.path ? data.error.path + ": " : "") + data.error.reason;
      this.error.hidden = false;
      this.count.textContent = "—";
      return;
    }
    this.error.hidden = true;
    this.text.textContent = data.text || "";
    this.count.textContent = data.count === null || data.count === undefined ? "—" : String(data.count);
    if (this.sample) {
      this.sample.textContent = "";
      (data.sample || []).forEach(function (row) {
        this.sample.appendChild(el("tr", {}, [
          el("td", { className: "number", text: String(row.id) }),
          el("td", { text: row.name || "—" }),
          el("td", { text: row.city || "—" })
        ]));
      }, this);
      var seconds = this.root.querySelector("[data-rule-seconds]");
      if (seconds) seconds.textContent = data.seconds === undefined ? "" : data.seconds.toFixed(3) + " s";
    }
  };

  // Rendering ---------------------------------------------------------------------

  Builder.prototype.render = function () {
    this.tree.textContent = "";
    var self = this;
    this.tree.appendChild(this.group(this.rule, function (replacement) { self.rule = replacement; }, true));
  };

  Builder.prototype.group = function (node, replace, top) {
    var self = this;
    var key = groupKey(node);
    var box = el("div", { className: "rule-group" + (top ? " rule-root" : "") });
    var head = el("div", { className: "rule-group-head" }, [
      select("rule-group-mode", [["all", this.w("all")], ["any", this.w("any")]], key, function (value) {
        var replacement = {};
        replacement[value] = node[key];
        replace(replacement);
        self.changed(true);
      })
    ]);
    box.appendChild(head);
    var list = el("div", { className: "rule-children" });
    node[key].forEach(function (child, index) {
      list.appendChild(self.row(child, function (replacement) { node[key][index] = replacement; }, function () {
        node[key].splice(index, 1);
        self.changed(true);
      }));
    });
    box.appendChild(list);
    var addCondition = el("button", { type: "button", className: "button small rule-add-condition", text: "+ " + this.w("add_condition") });
    addCondition.addEventListener("click", function () {
      node[key].push(self.defaultCondition("event"));
      self.changed(true);
    });
    var addGroup = el("button", { type: "button", className: "button small ghost rule-add-group", text: "+ " + this.w("add_group") });
    addGroup.addEventListener("click", function () {
      node[key].push({ any: [self.defaultCondition("trait")] });
      self.changed(true);
    });
    box.appendChild(el("div", { className: "rule-group-actions" }, [addCondition, addGroup]));
    return box;
  };

  Builder.prototype.row = function (node, replace, remove) {
    var self = this;
    var negated = "not" in node;
    var inner = negated ? node.not : node;
    var row = el("div", { className: "rule-row" + (negated ? " rule-negated" : "") });
    var negate = el("input", { type: "checkbox", className: "rule-negate" });
    negate.checked = negated;
    negate.addEventListener("change", function () {
      replace(negate.checked ? { not: inner } : inner);
      self.changed(true);
    });
    var setInner = function (replacement) { replace(negated ? { not: replacement } : replacement); };
    var body = groupKey(inner) ? this.group(inner, setInner, false) : this.condition(inner, setInner);
    var removeButton = el("button", { type: "button", className: "button small ghost rule-remove", text: "×", title: this.w("remove") });
    removeButton.addEventListener("click", remove);
    row.appendChild(el("label", { className: "rule-not" }, [negate, el("span", { text: this.w("not") })]));
    row.appendChild(body);
    row.appendChild(removeButton);
    return row;
  };

  Builder.prototype.kindOf = function (node) {
    var kinds = ["trait", "attribute", "tag", "identity", "event"];
    for (var index = 0; index < kinds.length; index += 1) {
      if (kinds[index] in node) return kinds[index];
    }
    return "trait";
  };

  Builder.prototype.defaultCondition = function (kind) {
    var catalogue = this.catalogue;
    if (kind === "trait" || kind === "attribute") {
      var first = this.fields(kind)[0];
      var condition = { op: first.operators[0] };
      condition[kind] = first.name;
      return this.withValue(condition, first);
    }
    if (kind === "tag") return { tag: catalogue.tags.length ? catalogue.tags[0].id : 0, has: true };
    if (kind === "identity") return { identity: catalogue.identities[0].kind, has: true };
    return { event: "product_view", where: [], count: { op: ">=", value: 1 }, window: { days: 7 } };
  };

  Builder.prototype.withValue = function (condition, field) {
    var op = condition.op;
    delete condition.value;
    if (SET_OPS.indexOf(op) >= 0) return condition;
    if (op === "within_days" || op === "before_days") condition.value = 30;
    else if (op === "in" || op === "not_in") condition.value = [];
    else if (op === "between") condition.value = field.type === "datetime" || field.type === "date" ? ["", ""] : [0, 0];
    else if (field.type === "boolean") condition.value = true;
    else if (field.choices.length) condition.value = field.choices[0].value;
    else if (["integer", "money", "decimal", "id"].indexOf(field.type) >= 0) condition.value = 0;
    else condition.value = "";
    return condition;
  };

  Builder.prototype.condition = function (node, replace) {
    var self = this;
    var kind = this.kindOf(node);
    var box = el("div", { className: "rule-condition rule-kind-" + kind });
    var kinds = ["event", "trait", "attribute", "tag", "identity"].map(function (name) { return [name, self.w("kind_" + name)]; });
    box.appendChild(select("rule-kind", kinds, kind, function (value) {
      replace(self.defaultCondition(value));
      self.changed(true);
    }));
    if (kind === "trait" || kind === "attribute") this.fieldEditor(box, node, kind);
    else if (kind === "tag") this.tagEditor(box, node);
    else if (kind === "identity") this.identityEditor(box, node);
    else this.eventEditor(box, node);
    return box;
  };

  Builder.prototype.hasSelect = function (node) {
    var self = this;
    return select("rule-has", [["true", this.w("has")], ["false", this.w("has_not")]], String(node.has !== false), function (value) {
      node.has = value === "true";
      self.changed(false);
    });
  };

  Builder.prototype.tagEditor = function (box, node) {
    var self = this;
    box.appendChild(this.hasSelect(node));
    var options = this.catalogue.tags.map(function (tag) { return [tag.id, tag.name]; });
    if (!options.length) options = [[node.tag, "#" + node.tag]];
    box.appendChild(select("rule-tag", options, node.tag, function (value) {
      node.tag = parseInt(value, 10);
      self.changed(false);
    }));
  };

  Builder.prototype.identityEditor = function (box, node) {
    var self = this;
    box.appendChild(this.hasSelect(node));
    var options = this.catalogue.identities.map(function (item) { return [item.kind, self.label(item)]; });
    box.appendChild(select("rule-identity", options, node.identity, function (value) {
      node.identity = value;
      self.changed(false);
    }));
  };

  Builder.prototype.fieldEditor = function (box, node, kind) {
    var self = this;
    var list = this.fields(kind);
    var field = this.findField(list, node[kind]) || list[0];
    box.appendChild(select("rule-field", list.map(function (item) { return [item.name, self.label(item)]; }), field.name, function (value) {
      node[kind] = value;
      node.op = self.findField(list, value).operators[0];
      self.withValue(node, self.findField(list, value));
      self.changed(true);
    }));
    this.operation(box, node, field);
  };

  Builder.prototype.operation = function (box, node, field) {
    var self = this;
    box.appendChild(select("rule-op", field.operators.map(function (op) { return [op, self.w("op_" + op)]; }), node.op, function (value) {
      node.op = value;
      self.withValue(node, field);
      self.changed(true);
    }));
    var editor = this.valueEditor(field, node);
    if (editor) box.appendChild(editor);
  };

  Builder.prototype.convert = function (type, text) {
    if (type === "money") return text === "" ? null : Math.round(parseFloat(text) * 100);
    if (type === "integer" || type === "id") return text === "" ? null : parseInt(text, 10);
    if (type === "decimal") return text === "" ? null : parseFloat(text);
    if (type === "json" && /^-?[0-9]{1,15}(\.[0-9]{1,15})?$/.test(text)) return parseFloat(text);
    return text;
  };

  Builder.prototype.shown = function (type, value) {
    if (value === null || value === undefined) return "";
    if (type === "money") return String(value / 100);
    if ((type === "datetime" || type === "date") && typeof value === "string") return value.slice(0, 10);
    return String(value);
  };

  Builder.prototype.valueEditor = function (field, node) {
    var self = this;
    var op = node.op;
    var type = field.type;
    if (SET_OPS.indexOf(op) >= 0) return null;
    var update = function () { self.changed(false); };
    if (op === "within_days" || op === "before_days") {
      return el("span", { className: "rule-value-group" }, [
        input("rule-value rule-days", "number", node.value, function (text) { node.value = parseInt(text, 10); update(); }, { min: "1" }),
        el("span", { className: "muted", text: this.w("days") })
      ]);
    }
    var inputType = type === "datetime" || type === "date" ? "date" : (["integer", "money", "decimal", "id"].indexOf(type) >= 0 ? "number" : "text");
    var extra = type === "money" ? { step: "0.01", title: this.w("yuan") } : {};
    if (op === "in" || op === "not_in") {
      return input("rule-value rule-list", "text", (node.value || []).map(function (item) { return self.shown(type, item); }).join(", "), function (text) {
        node.value = text.split(/[,，]/).map(function (part) { return part.trim(); }).filter(function (part) { return part !== ""; })
          .map(function (part) { return self.convert(type, part); });
        update();
      }, { title: this.w("list_hint") });
    }
    if (op === "between") {
      var pair = node.value || [null, null];
      var side = function (index) {
        return input("rule-value rule-between-" + index, inputType, self.shown(type, pair[index]), function (text) {
          pair[index] = self.convert(type, text);
          node.value = pair;
          update();
        }, extra);
      };
      return el("span", { className: "rule-value-group" }, [side(0), el("span", { text: "~" }), side(1)]);
    }
    if (type === "boolean") {
      return select("rule-value", [["true", this.w("yes")], ["false", this.w("no")]], String(node.value !== false), function (value) {
        node.value = value === "true";
        update();
      });
    }
    if (field.choices.length) {
      return select("rule-value", field.choices.map(function (choice) { return [choice.value, self.label(choice)]; }), node.value, function (value) {
        node.value = value;
        update();
      });
    }
    var single = input("rule-value", inputType, this.shown(type, node.value), function (text) {
      node.value = self.convert(type, text);
      update();
    }, extra);
    if (type !== "money") return single;
    return el("span", { className: "rule-value-group" }, [single, el("span", { className: "muted", text: this.w("yuan") })]);
  };

  Builder.prototype.eventEditor = function (box, node) {
    var self = this;
    var events = this.catalogue.events.map(function (item) { return [item.type, self.label(item)]; });
    var custom = node.event.indexOf(this.catalogue.custom_event_prefix) === 0;
    events.push(["__custom", this.w("custom_event")]);
    box.appendChild(select("rule-event-type", events, custom ? "__custom" : node.event, function (value) {
      node.event = value === "__custom" ? self.catalogue.custom_event_prefix + "event" : value;
      node.where = [];
      self.changed(true);
    }));
    if (custom) {
      box.appendChild(input("rule-custom-event", "text", node.event.slice(this.catalogue.custom_event_prefix.length), function (text) {
        node.event = self.catalogue.custom_event_prefix + text;
        self.changed(false);
      }));
    }
    var windowMode = "days" in (node.window || {}) ? "days" : "range";
    var windowBox = el("span", { className: "rule-window" });
    windowBox.appendChild(select("rule-window-mode", [["days", this.w("last_days")], ["range", this.w("date_range")]], windowMode, function (value) {
      node.window = value === "days" ? { days: 7 } : { from: "", to: "" };
      self.changed(true);
    }));
    if (windowMode === "days") {
      windowBox.appendChild(input("rule-window-days", "number", node.window.days, function (text) {
        node.window.days = parseInt(text, 10);
        self.changed(false);
      }, { min: "1" }));
      windowBox.appendChild(el("span", { className: "muted", text: this.w("days") }));
    } else {
      ["from", "to"].forEach(function (end) {
        windowBox.appendChild(input("rule-window-" + end, "date", (node.window[end] || "").slice(0, 10), function (text) {
          node.window[end] = text;
          self.changed(false);
        }));
      });
    }
    box.appendChild(windowBox);
    var count = node.count || { op: ">=", value: 1 };
    node.count = count;
    box.appendChild(el("span", { className: "rule-count-edit" }, [
      select("rule-count-op", this.catalogue.count_operators.map(function (op) { return [op, self.w("op_" + op)]; }), count.op, function (value) {
        count.op = value;
        self.changed(false);
      }),
      input("rule-count-value", "number", count.value, function (text) {
        count.value = parseInt(text, 10);
        self.changed(false);
      }, { min: "0" }),
      el("span", { className: "muted", text: this.w("times") })
    ]));
    var where = el("div", { className: "rule-where" });
    (node.where || []).forEach(function (item, index) { where.appendChild(self.whereRow(node, item, index)); });
    var add = el("button", { type: "button", className: "button small ghost rule-add-where", text: "+ " + this.w("add_where") });
    add.addEventListener("click", function () {
      var list = node.event === "order" ? self.catalogue.order_properties : self.catalogue.event_properties;
      node.where = node.where || [];
      node.where.push(self.withValue({ property: list[0].name, op: list[0].operators[0] }, list[0]));
      self.changed(true);
    });
    where.appendChild(add);
    box.appendChild(where);
  };

  Builder.prototype.whereRow = function (node, item, index) {
    var self = this;
    var list = node.event === "order" ? this.catalogue.order_properties : this.catalogue.event_properties;
    var prefix = this.catalogue.properties_prefix;
    var isCustom = item.property.indexOf(prefix) === 0;
    var options = list.map(function (entry) { return [entry.name, self.label(entry)]; });
    if (node.event !== "order") options.push(["__custom", this.w("custom_property")]);
    var row = el("div", { className: "rule-where-row" });
    row.appendChild(select("rule-where-property", options, isCustom ? "__custom" : item.property, function (value) {
      var name = value === "__custom" ? prefix + "key" : value;
      var field = self.propertyField(node.event, name);
      node.where[index] = self.withValue({ property: name, op: field.operators[0] }, field);
      self.changed(true);
    }));
    if (isCustom) {
      row.appendChild(input("rule-where-key", "text", item.property.slice(prefix.length), function (text) {
        item.property = prefix + text;
        self.changed(false);
      }));
    }
    var field = this.propertyField(node.event, item.property) || list[0];
    this.operation(row, item, field);
    var remove = el("button", { type: "button", className: "button small ghost rule-remove-where", text: "×" });
    remove.addEventListener("click", function () {
      node.where.splice(index, 1);
      self.changed(true);
    });
    row.appendChild(remove);
    return row;
  };

  function init(scope) {
    (scope.querySelectorAll ? scope.querySelectorAll("[data-rule-builder]") : []).forEach(function (root) {
      if (root.getAttribute("data-ready")) return;
      root.setAttribute("data-ready", "1");
      new Builder(root).start();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
