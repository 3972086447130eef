// Category list: a rail of categories and the chosen one's products, page by page.
import {api, byId, done, h, params, productCard, report, setTitle, t} from "./core.js";

const query = new URLSearchParams(window.location.search).get("q") || "";
let selected = params.category_id;
let cursor = null;

async function loadProducts(reset) {
  const grid = byId("category-products");
  const more = byId("category-more");
  if (reset) {
    cursor = null;
    grid.replaceChildren();
    grid.setAttribute("aria-busy", "true");
  }
  const search = new URLSearchParams();
  if (selected) search.set("category_id", selected);
  if (query) search.set("q", query);
  if (cursor) search.set("cursor", cursor);
  const page = await api("GET", `/products?${search}`);
  grid.append(...page.items.map(productCard));
  cursor = page.next_cursor;
  more.hidden = !cursor;
  byId("category-empty").hidden = grid.children.length > 0;
  done(grid);
}

function railLink(id, name) {
  const current = (id || null) === (selected || null);
  return h("a", {
    class: current ? "rail-item current" : "rail-item",
    href: id ? `/shop/category/${id}` : "/shop/categories",
    "aria-current": current ? "page" : null,
    text: name,
  });
}

async function start() {
  const input = byId("search-input");
  input.value = query;
  const {items} = await api("GET", "/categories");
  const rail = byId("category-rail");
  rail.replaceChildren(
    railLink(null, t("shop.category.all")),
    ...items.map((category) => railLink(category.id, category.name)),
  );
  if (query) setTitle(t("shop.search.results", {q: query}));
  byId("category-more").addEventListener("click", () => loadProducts(false).catch(report));
  await loadProducts(true);
}

start().catch(report);
