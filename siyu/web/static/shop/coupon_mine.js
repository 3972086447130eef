// My coupons by status; an available one shows its code (for the till) and leads to
// shopping.
import {api, byId, done, h, report, requireSession, t} from "./core.js";
import {couponCard} from "./coupon_card.js";

let status = "available";

async function load() {
  const list = byId("my-coupons");
  list.setAttribute("aria-busy", "true");
  const answer = await api("GET", `/coupons/mine?status=${status}`);
  list.replaceChildren(
    ...answer.items.map((coupon) =>
      couponCard(coupon, {
        action: status === "available" ? h("a", {class: "button small", href: "/shop/categories", text: t("shop.coupons.use")}) : null,
        state: status === "available" ? null : {key: status, text: t(`shop.coupons.status.${status}`)},
        extra: [h("code", {class: "coupon-code", text: t("shop.coupons.code", {code: coupon.code})})],
      }),
    ),
  );
  byId("my-coupons-empty").hidden = answer.items.length > 0;
  done(list);
}

function start() {
  for (const button of byId("coupon-filter").querySelectorAll("[data-status]")) {
    button.addEventListener("click", () => {
      status = button.dataset.status;
      for (const other of byId("coupon-filter").querySelectorAll("[data-status]")) {
        other.setAttribute("aria-selected", String(other === button));
      }
      load().catch(report);
    });
  }
  load().catch(report);
}

if (requireSession()) start();
