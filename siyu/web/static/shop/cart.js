// Cart: select lines, change quantities, remove; the totals are the API's.
import {api, byId, done, h, image, money, report, requireSession, specText, t} from "./core.js";

function line(item) {
  const change = (body) =>
    api("PATCH", `/cart/items/${item.sku_id}`, body).then(render).catch(report);
  return h(
    "li",
    {class: item.available ? "cart-line" : "cart-line unavailable", dataset: {skuId: item.sku_id}},
    h("input", {
      type: "checkbox",
      class: "cart-select",
      "aria-label": t("shop.cart.select"),
      checked: item.is_selected && item.available,
      disabled: !item.available,
      onchange: (event) => change({is_selected: event.target.checked}),
    }),
    image(item.image, item.product_name),
    h(
      "div",
      {class: "cart-line-body"},
      item.product_id
        ? h("a", {href: `/shop/products/${item.product_id}`, class: "line-name", text: item.product_name})
        : h("span", {class: "line-name", text: t("shop.cart.gone")}),
      h("span", {class: "muted small", text: specText(item.specs)}),
      item.available
        ? h("span", {class: "price", text: money(item.unit_price)})
        : h("span", {class: "warning small", text: t("shop.cart.unavailable")}),
      h(
        "div",
        {class: "line-actions"},
        h(
          "div",
          {class: "stepper"},
          h("button", {
            type: "button",
            class: "cart-minus",
            "aria-label": t("shop.quantity.less"),
            disabled: item.quantity <= 1,
            onclick: () => change({quantity: item.quantity - 1}),
            text: "−",
          }),
          h("span", {class: "cart-quantity", text: item.quantity}),
          h("button", {
            type: "button",
            class: "cart-plus",
            "aria-label": t("shop.quantity.more"),
            onclick: () => change({quantity: item.quantity + 1}),
            text: "+",
          }),
        ),
        h("button", {
          type: "button",
          class: "link cart-remove",
          text: t("shop.cart.remove"),
          onclick: () =>
            api("DELETE", `/cart/items/${item.sku_id}`).then(render).catch(report),
        }),
      ),
    ),
  );
}

function render(cart) {
  const lines = byId("cart-lines");
  lines.replaceChildren(...cart.items.map(line));
  byId("cart-empty").hidden = cart.items.length > 0;
  byId("cart-total").textContent = money(cart.selected_amount);
  const checkout = byId("cart-checkout");
  checkout.disabled = cart.selected_count === 0;
  checkout.textContent = t("shop.cart.checkout_count", {count: cart.selected_count});
  done(byId("cart"));
}

if (requireSession()) {
  byId("cart-checkout").addEventListener("click", () => {
    window.location.assign("/shop/checkout?from=cart");
  });
  api("GET", "/cart").then(render).catch(report);
}
