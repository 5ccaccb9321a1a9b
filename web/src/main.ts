import "./style.css";
import { apiKey, onConnectivity, setApiKey } from "./api.js";
import { mountCompare } from "./pages/compare.js";
import { mountNewRun } from "./pages/new-run.js";
import { mountPlayground } from "./pages/playground.js";
import { mountRun } from "./pages/run.js";
import { mountRuns } from "./pages/runs.js";

/** A page draws itself into `root` and returns what stops its timers and subscriptions. */
export type Page = (root: HTMLElement, params: URLSearchParams, id?: string) => () => void;

const root = document.getElementById("app")!;
const banner = document.getElementById("banner")!;
const keyForm = document.getElementById("api-key") as HTMLFormElement;
const keyInput = keyForm.elements.namedItem("key") as HTMLInputElement;
let stop: () => void = () => {};

function route(): { page: Page; nav: string; id?: string; params: URLSearchParams } {
  const [path = "", query = ""] = location.hash.replace(/^#/, "").split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean);
  if (parts[0] === "runs" && parts[1]) return { page: mountRun, nav: "runs", id: decodeURIComponent(parts[1]), params };
  if (parts[0] === "compare") return { page: mountCompare, nav: "runs", params };
  if (parts[0] === "new") return { page: mountNewRun, nav: "new", params };
  if (parts[0] === "playground") return { page: mountPlayground, nav: "playground", params };
  return { page: mountRuns, nav: "runs", params };
}

function render(): void {
  stop();
  root.replaceChildren();
  const { page, nav, id, params } = route();
  for (const a of document.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    a.classList.toggle("active", a.dataset.nav === nav);
  }
  stop = page(root, params, id);
}

onConnectivity((state, detail) => {
  banner.hidden = state === "ok";
  banner.textContent = state === "unauthenticated" ? detail || "The API needs a key: paste it above." : detail;
  banner.dataset.state = state;
});

keyInput.value = apiKey();
keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  setApiKey(keyInput.value.trim());
  render();
});
window.addEventListener("hashchange", render);
render();
