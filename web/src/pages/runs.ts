import { request, type ApiError } from "../api.js";
import { clear, errorBox, fmtNumber, fmtTime, h, statusBadge } from "../dom.js";
import { ACTIVE, RUNS, type RunRow, type RunsData } from "../operations.js";
import type { Page } from "../main.js";
import { COMPARE_MAX, COMPARE_MIN } from "./compare.js";

const PAGE = 20;

/** The list of training runs, newest first; refreshed while any shown run is queued or running; pick 2–5 to compare. */
export const mountRuns: Page = (root) => {
  const body = h("tbody");
  const status = h("p", { class: "muted" }, "Loading runs…");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Load more");
  const compare = h("button", { type: "button", disabled: true }, "Compare");
  const selected = new Set<string>();
  let rows: RunRow[] = [];
  let cursor: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let alive = true;

  const draw = (total: number) => {
    clear(
      body,
      ...rows.map((r) =>
        h(
          "tr",
          { "data-run": r.id },
          h("td", {}, pick(r)),
          h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.name ?? r.id.slice(0, 8))),
          h("td", {}, statusBadge(r.status)),
          h("td", {}, r.baseModel.name),
          h("td", { class: "wide" }, r.dataset.name),
          h("td", {}, `${r.currentStep} / ${r.maxSteps}`),
          h("td", {}, fmtNumber(r.latestLoss)),
          h("td", { class: "wide" }, fmtTime(r.createdAt)),
        ),
      ),
    );
    status.textContent = total === 0 ? "No training runs yet: start one from “New run”." : `${rows.length} of ${total} runs`;
  };

  const pick = (r: RunRow) => {
    const box = h("input", { type: "checkbox", name: "compare", value: r.id, "aria-label": `compare ${r.name ?? r.id.slice(0, 8)}`, checked: selected.has(r.id) });
    box.addEventListener("change", () => {
      if (box.checked) selected.add(r.id);
      else selected.delete(r.id);
      drawCompare();
    });
    return box;
  };
  const drawCompare = () => {
    const n = selected.size;
    compare.disabled = n < COMPARE_MIN || n > COMPARE_MAX;
    compare.textContent = n === 0 ? "Compare" : `Compare ${n}`;
    compare.title = `pick ${COMPARE_MIN} to ${COMPARE_MAX} runs`;
  };
  compare.addEventListener("click", () => {
    location.hash = `#/compare?ids=${[...selected].map(encodeURIComponent).join(",")}`;
  });

  const load = async (append: boolean) => {
    clearTimeout(timer);
    try {
      // a refresh re-reads what is shown, up to 100 rows (the server's cost limit counts `first`)
      const first = append ? PAGE : Math.min(100, Math.max(PAGE, rows.length));
      const data = await request<RunsData>(RUNS, { first, after: append ? cursor : null });
      if (!alive) return;
      const page = data.trainingRuns;
      const beyond = append ? [] : rows.slice(page.nodes.length);
      rows = append ? [...rows, ...page.nodes] : [...page.nodes, ...beyond];
      if (append || beyond.length === 0) {
        cursor = page.pageInfo.endCursor;
        more.hidden = !page.pageInfo.hasNextPage;
      }
      draw(page.totalCount);
      if (rows.some((r) => ACTIVE.includes(r.status))) timer = setTimeout(() => void load(false), 3000);
    } catch (err) {
      if (alive) clear(status, errorBox(`Could not load the runs: ${(err as ApiError).message}`));
    }
  };
  more.addEventListener("click", () => void load(true));

  root.append(
    h("section", { class: "page runs" },
      h("div", { class: "title-row" }, h("h1", {}, "Training runs"),
        h("div", { class: "inline" }, compare, h("a", { class: "button", href: "#/new" }, "New run"))),
      h("div", { class: "table-wrap" },
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, h("span", { class: "visually-hidden" }, "Compare")), h("th", {}, "Run"), h("th", {}, "Status"), h("th", {}, "Base model"), h("th", { class: "wide" }, "Dataset"),
            h("th", {}, "Step"), h("th", {}, "Loss"), h("th", { class: "wide" }, "Created"))),
          body)),
      status,
      more,
    ),
  );
  void load(false);
  return () => {
    alive = false;
    clearTimeout(timer);
  };
};
