// Product page: the SKU picker from the spec matrix, price, which stores have it,
// add to cart and buy now.
import {
  api,
  browserLocation,
  byId,
  done,
  flash,
  formatDistance,
  goToLogin,
  h,
  image,
  locationQuery,
  manualLocation,
  money,
  params,
  report,
  sessionToken,
  t,
  track,
} from "./core.js";
import {showPoster} from "./poster.js";

const storeId = new URLSearchParams(window.location.search).get("store_id");
let product = null;
let chosen = {};
let availabilityShown = false;

function matches(sku, wanted) {
  return Object.entries(wanted).every(([name, value]) => String(sku.specs[name]) === value);
}

function selectedSku() {
  if (!product) return null;
  return product.skus.find((sku) => matches(sku, chosen)) || null;
}

function quantity() {
  const value = parseInt(byId("quantity").value, 10);
  return Number.isFinite(value) && value > 0 ? value : 1;
}

function choose(name, value) {
  const wanted = {...chosen, [name]: value};
  if (product.skus.some((sku) => matches(sku, wanted))) {
    chosen = wanted;
  } else {
    // That value exists only with other specs: take the first SKU that has it.
    const sku = product.skus.find((candidate) => String(candidate.specs[name]) === value);
    chosen = specsOf(sku);
  }
  renderPicker();
}

function specsOf(sku) {
  const specs = {};
  for (const name of product.spec_names) specs[name] = String(sku.specs[name] ?? "");
  return specs;
}

function renderPicker() {
  const groups = byId("spec-groups");
  groups.replaceChildren(
    ...product.specs.map((spec) =>
      h(
        "div",
        {class: "spec-group"},
        h("span", {class: "spec-name", text: spec.name}),
        h(
          "div",
          {class: "spec-values", role: "radiogroup", "aria-label": spec.name},
          ...spec.values.map((value) => {
            const isChosen = chosen[spec.name] === value;
            const possible = product.skus.some((sku) =>
              matches(sku, {...chosen, [spec.name]: value}),
            );
            return h("button", {
              type: "button",
              class: `spec-value${isChosen ? " current" : ""}${possible ? "" : " unavailable"}`,
              role: "radio",
              "aria-checked": isChosen ? "true" : "false",
              dataset: {spec: spec.name, value},
              text: value,
              onclick: () => choose(spec.name, value),
            });
          }),
        ),
      ),
    ),
  );
  renderSku();
}

function renderSku() {
  const sku = selectedSku();
  const add = byId("add-to-cart");
  const buy = byId("buy-now");
  add.disabled = !sku;
  buy.disabled = !sku;
  if (!sku) {
    byId("sku-state").textContent = t("shop.product.choose_hint");
    return;
  }
  byId("product-price").textContent = money(sku.unit_price);
  byId("product-list-price").textContent = sku.list_price > sku.unit_price ? money(sku.list_price) : "";
  const kind = byId("product-price-kind");
  kind.hidden = sku.price_kind !== "store_price";
  kind.textContent = t("shop.price.store_price");
  byId("sku-state").textContent = sku.in_stock_for_delivery
    ? t("shop.product.delivery_in_stock")
    : t("shop.product.delivery_out_of_stock");
  const input = byId("quantity");
  input.max = String(sku.per_order_limit);
  if (quantity() > sku.per_order_limit) input.value = String(sku.per_order_limit);
  if (availabilityShown) checkAvailability(manualLocation()).catch(report);
}

function changeQuantity(step) {
  const sku = selectedSku();
  const limit = sku ? sku.per_order_limit : 1;
  byId("quantity").value = String(Math.min(Math.max(quantity() + step, 1), limit));
}

async function checkAvailability(location) {
  const sku = selectedSku();
  if (!sku) return;
  availabilityShown = true;
  const list = byId("availability-list");
  list.setAttribute("aria-busy", "true");
  const answer = await api(
    "GET",
    `/products/${product.id}/availability?sku_id=${sku.id}&quantity=${quantity()}${locationQuery(location)}`,
  );
  list.replaceChildren(
    ...answer.items.map((store) =>
      h(
        "li",
        {class: "store", dataset: {storeId: store.store_id}},
        h(
          "div",
          {class: "store-head"},
          h("strong", {class: "store-name", text: store.name}),
          store.distance_km !== null
            ? h("span", {class: "store-distance", text: formatDistance(store.distance_km)})
            : null,
        ),
        h("span", {class: "muted small", text: [store.city, store.address].filter(Boolean).join(" ")}),
        store.opening_hours
          ? h("span", {class: "muted small", text: t("shop.store.hours", {hours: store.opening_hours})})
          : null,
        h(
          "div",
          {class: "store-foot"},
          h("span", {class: `stock ${store.stock_status}`, text: t(`shop.stock.${store.stock_status}`)}),
          h("span", {class: "price small", text: money(store.unit_price)}),
          h("a", {
            class: "button ghost small",
            href: `/shop/checkout?sku=${sku.id}&quantity=${quantity()}&pickup=${store.store_id}`,
            text: t("shop.availability.pickup_here"),
          }),
        ),
      ),
    ),
  );
  byId("availability-empty").hidden = answer.items.length > 0;
  done(list);
}

async function addToCart() {
  const sku = selectedSku();
  if (!sku) return;
  if (!sessionToken()) {
    goToLogin();
    return;
  }
  const amount = quantity();
  await api("POST", "/cart/items", {sku_id: sku.id, quantity: amount});
  track("add_to_cart", {spu_id: product.id, sku_id: sku.id, quantity: amount});
  flash(t("shop.cart.added"), "success");
}

function buyNow() {
  const sku = selectedSku();
  if (!sku) return;
  window.location.assign(`/shop/checkout?sku=${sku.id}&quantity=${quantity()}`);
}

function renderProduct() {
  byId("product-gallery").replaceChildren(
    ...(product.images.length ? product.images : [null]).map((url) =>
      image(url, product.name, "gallery-image"),
    ),
  );
  byId("product-name").textContent = product.name;
  byId("product-subtitle").textContent = product.subtitle || "";
  if (product.description) {
    const description = byId("product-description");
    description.replaceChildren(
      h("h3", {text: t("shop.product.description")}),
      h("p", {text: product.description}),
    );
    description.hidden = false;
  }
  const first = product.skus.find((sku) => sku.in_stock_for_delivery) || product.skus[0];
  chosen = specsOf(first);
  renderPicker();
  done(byId("product"));
}

async function start() {
  byId("quantity-minus").addEventListener("click", () => changeQuantity(-1));
  byId("quantity-plus").addEventListener("click", () => changeQuantity(1));
  byId("quantity").addEventListener("change", () => changeQuantity(0));
  byId("add-to-cart").addEventListener("click", () => addToCart().catch(report));
  byId("buy-now").addEventListener("click", buyNow);
  byId("availability-check").addEventListener("click", () =>
    checkAvailability(manualLocation()).catch(report),
  );
  byId("availability-locate").addEventListener("click", async () => {
    const location = (await browserLocation()) || manualLocation();
    if (!location) flash(t("shop.location.unavailable"), "info");
    await checkAvailability(location).catch(report);
  });
  byId("product-poster-button").addEventListener("click", () =>
    showPoster(`product/${params.product_id}.png`, byId("product-poster")).catch(report),
  );
  const query = storeId ? `?store_id=${encodeURIComponent(storeId)}` : "";
  product = await api("GET", `/products/${params.product_id}${query}`);
  renderProduct();
  const sku = selectedSku();
  track("product_view", {spu_id: product.id, sku_id: sku ? sku.id : null});
}

start().catch(report);
