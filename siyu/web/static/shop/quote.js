// Shows priced lines (a checkout preview or an order): each line's breakdown as the
// pricing pipeline recorded it, and the order's totals.
import {h, image, money, specText, t} from "./core.js";

export function quoteLine(line, extra = null) {
  return h(
    "li",
    {class: "quote-line", dataset: {lineNo: line.line_no}},
    image(line.image, line.product_name),
    h(
      "div",
      {class: "quote-line-body"},
      h("span", {class: "line-name", text: line.product_name}),
      h("span", {class: "muted small", text: specText(line.specs)}),
      h(
        "span",
        {class: "small"},
        t("shop.line.unit", {price: money(line.unit_price), quantity: line.quantity}),
      ),
      h(
        "dl",
        {class: "breakdown"},
        ...line.price_breakdown.flatMap((adjustment) => [
          h("dt", {text: adjustment.label}),
          h("dd", {text: money(adjustment.amount)}),
        ]),
      ),
      h(
        "span",
        {class: "line-payable"},
        t("shop.line.payable"),
        " ",
        h("strong", {text: money(line.payable_amount)}),
      ),
      extra,
    ),
  );
}

export function totals(quote) {
  const rows = [
    ["shop.total.items", quote.items_amount, "items"],
    ["shop.total.discount", -quote.discount_amount, "discount"],
    ["shop.total.shipping", quote.shipping_amount, "shipping"],
    ["shop.total.payable", quote.total_amount, "payable"],
  ];
  return rows
    .filter(([, amount, name]) => name !== "discount" || amount !== 0)
    .flatMap(([key, amount, name]) => [
      h("dt", {text: t(key)}),
      h("dd", {class: `total-${name}`, text: money(amount)}),
    ]);
}
