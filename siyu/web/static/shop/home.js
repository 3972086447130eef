// Home: categories and hot items (the catalog's heaviest sort weight first).
import {api, byId, done, h, params, productCard, report} from "./core.js";

async function showCategories() {
  const box = byId("home-categories");
  const {items} = await api("GET", "/categories");
  box.replaceChildren(
    ...items
      .filter((category) => category.parent_id === null)
      .map((category) =>
        h("a", {class: "chip", href: `/shop/category/${category.id}`, text: category.name}),
      ),
  );
}

async function showHotItems() {
  const grid = byId("hot-items");
  const page = await api("GET", `/products?limit=${params.hot}`);
  grid.replaceChildren(...page.items.map(productCard));
  byId("hot-empty").hidden = page.items.length > 0;
  done(grid);
}

Promise.all([showCategories(), showHotItems()]).catch(report);
