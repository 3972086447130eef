/*
 * siyu-track.js — the siyu tracker for H5 pages (ES2017, no build step).
 *
 *   <script src="https://siyu.example.com/static/siyu-track.js"></script>
 *   <script>
 *     siyu.init({endpoint: "https://siyu.example.com", touchpoint: "h5",
 *                sessionToken: "sc_..."});          // optional: a customer session
 *     siyu.track("product_view", {sku_id: 7});
 *   </script>
 *
 * With a session token events go to /api/shop/v1/track (the token travels in the
 * body, so no custom header and no CORS preflight); without one they go to
 * /api/shop/v1/track/anonymous with the browser's anonymous id. Events queue in
 * localStorage, flush every `flushIntervalMs` or at `batchSize` events, retry with
 * backoff on network errors and 5xx/429, and leave with navigator.sendBeacon when
 * the page is hidden. A 4xx answer other than 429 drops the batch (retrying a bad
 * batch would never succeed); per-event rejections are in the 200 answer.
 */
(function (global) {
  "use strict";

  var STORAGE_QUEUE = "siyu.queue";
  var STORAGE_ANONYMOUS = "siyu.anonymous_id";
  var MAX_QUEUE = 1000;
  var MAX_BATCH = 100;

  var config = null;
  var queue = [];
  var timer = null;
  var sending = false;
  var failures = 0;
  var memoryStore = {};

  function storageGet(key) {
    try {
      return global.localStorage.getItem(key);
    } catch (error) {
      return Object.prototype.hasOwnProperty.call(memoryStore, key) ? memoryStore[key] : null;
    }
  }

  function storageSet(key, value) {
    try {
      global.localStorage.setItem(key, value);
    } catch (error) {
      memoryStore[key] = value; // private mode or full storage: keep going in memory
    }
  }

  function uuid() {
    if (global.crypto && typeof global.crypto.randomUUID === "function") {
      return global.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    if (global.crypto && global.crypto.getRandomValues) {
      global.crypto.getRandomValues(bytes);
    } else {
      for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function anonymousId() {
    var id = storageGet(STORAGE_ANONYMOUS);
    if (!id) {
      id = uuid();
      storageSet(STORAGE_ANONYMOUS, id);
    }
    return id;
  }

  function loadQueue() {
    try {
      var saved = JSON.parse(storageGet(STORAGE_QUEUE) || "[]");
      return Array.isArray(saved) ? saved : [];
    } catch (error) {
      return [];
    }
  }

  function saveQueue() {
    storageSet(STORAGE_QUEUE, JSON.stringify(queue));
  }

  function channelCode() {
    try {
      return new URL(global.location.href).searchParams.get("ch");
    } catch (error) {
      return null;
    }
  }

  function endpointPath() {
    return config.sessionToken ? "/api/shop/v1/track" : "/api/shop/v1/track/anonymous";
  }

  function body(events) {
    var document = {events: events};
    if (config.sessionToken) document.session_token = config.sessionToken;
    return JSON.stringify(document);
  }

  function schedule(delay) {
    if (timer) clearTimeout(timer);
    timer = setTimeout(function () {
      timer = null;
      flush();
    }, delay);
  }

  function flush() {
    if (!config || sending || queue.length === 0) return Promise.resolve();
    var batch = queue.slice(0, MAX_BATCH);
    sending = true;
    return global.fetch(config.endpoint + endpointPath(), {
      method: "POST",
      // text/plain keeps the request "simple": no CORS preflight. siyu parses JSON anyway.
      headers: {"Content-Type": "text/plain;charset=UTF-8"},
      body: body(batch),
      credentials: "omit",
    }).then(function (response) {
      sending = false;
      if (response.ok || (response.status >= 400 && response.status < 500 && response.status !== 429)) {
        queue = queue.slice(batch.length);
        saveQueue();
        failures = 0;
        if (queue.length) schedule(0);
        return;
      }
      retryLater();
    }, function () {
      sending = false;
      retryLater();
    });
  }

  function retryLater() {
    failures += 1;
    // Exponential backoff with jitter, capped: 1 s, 2 s, 4 s … 60 s.
    var delay = Math.min(60000, 1000 * Math.pow(2, failures - 1));
    schedule(delay / 2 + Math.random() * delay / 2);
  }

  function beacon() {
    if (!config || queue.length === 0 || !global.navigator || !global.navigator.sendBeacon) return;
    while (queue.length) {
      var batch = queue.slice(0, MAX_BATCH);
      // A string body goes as text/plain: the one content type a beacon may carry
      // cross-origin without a preflight.
      if (!global.navigator.sendBeacon(config.endpoint + endpointPath(), body(batch))) break;
      queue = queue.slice(batch.length);
    }
    saveQueue();
  }

  var siyu = {
    init: function (options) {
      options = options || {};
      config = {
        endpoint: (options.endpoint || "").replace(/\/$/, ""),
        sessionToken: options.sessionToken || options.token || null,
        touchpoint: options.touchpoint || "h5",
        batchSize: Math.min(options.batchSize || 20, MAX_BATCH),
        flushIntervalMs: options.flushIntervalMs || 5000,
      };
      queue = loadQueue();
      global.addEventListener("visibilitychange", function () {
        if (global.document.visibilityState === "hidden") beacon();
      });
      global.addEventListener("pagehide", beacon);
      if (queue.length) schedule(0);
      return siyu;
    },

    track: function (type, properties) {
      if (!config) throw new Error("siyu.init() first");
      var context = {
        touchpoint: config.touchpoint,
        page: global.location.href,
        referrer: global.document.referrer || null,
        title: global.document.title || null,
      };
      var code = channelCode();
      if (code) context.channel_code = code;
      queue.push({
        event_id: uuid(),
        type: type,
        occurred_at: new Date().toISOString(),
        identities: [{kind: "anonymous_id", value: anonymousId()}],
        context: context,
        properties: properties || {},
      });
      if (queue.length > MAX_QUEUE) queue = queue.slice(queue.length - MAX_QUEUE);
      saveQueue();
      if (queue.length >= config.batchSize) schedule(0);
      else if (!timer) schedule(config.flushIntervalMs);
    },

    setSessionToken: function (token) {
      config.sessionToken = token || null;
    },

    flush: flush,
    anonymousId: anonymousId,
    pending: function () {
      return queue.length;
    },
  };

  global.siyu = siyu;
})(window);
