// One coupon (or template) as a card: the value on the left, the name and rules on the
// right, and an action (claim, use) or a state. Shared by the coupon pages and checkout.
import {formatTime, h, money, t} from "./core.js";

// This module's own styles; shop.css stays the shell's.
if (!document.querySelector('link[href="/static/shop/coupon.css"]')) {
  document.head.append(h("link", {rel: "stylesheet", href: "/static/shop/coupon.css"}));
}

export function valueText(coupon) {
  switch (coupon.kind) {
    case "percent_off":
      return t("shop.coupons.value.percent", {zhe: (coupon.discount_rate / 1000).toString()});
    case "gift":
      return t("shop.coupons.value.gift");
    case "free_shipping":
      return t("shop.coupons.value.free_shipping");
    default:
      return money(coupon.discount_amount);
  }
}

export function ruleLines(coupon) {
  const lang = document.documentElement.lang === "en" ? "en" : "zh";
  // The kind's name is already on the card; show the discount, scope and validity.
  return coupon.rules.slice(1, 5).map((rule) => rule[lang]);
}

export function couponCard(coupon, {action = null, state = null, extra = []} = {}) {
  return h(
    "li",
    {class: `coupon-card kind-${coupon.kind}`, dataset: {template: coupon.public_id || coupon.template_public_id || "", code: coupon.code || ""}},
    h("div", {class: "coupon-value", text: valueText(coupon)}),
    h(
      "div",
      {class: "coupon-body"},
      h("strong", {class: "coupon-name", text: coupon.name}),
      h("ul", {class: "coupon-rules"}, ...ruleLines(coupon).map((line) => h("li", {text: line}))),
      coupon.valid_until && coupon.code
        ? h("span", {class: "muted small", text: t("shop.coupons.valid_until", {time: formatTime(coupon.valid_until)})})
        : null,
      ...extra,
    ),
    h("div", {class: "coupon-side"}, action, state ? h("span", {class: "coupon-state", dataset: {state: state.key}, text: state.text}) : null),
  );
}
