// A shared coupon link: what the coupon is and my state for it; claiming asks to sign
// in first and comes back here.
import {ApiError, api, byId, done, params, report} from "./core.js";
import {templateCard} from "./coupon_centre.js";

async function load() {
  const list = byId("coupon-link");
  list.setAttribute("aria-busy", "true");
  const path = `/coupon-links/${encodeURIComponent(params.public_id)}`;
  try {
    const template = await api("GET", path);
    list.replaceChildren(templateCard(template, path, load));
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) byId("coupon-link-missing").hidden = false;
    else throw error;
  } finally {
    done(list);
  }
}

load().catch(report);
