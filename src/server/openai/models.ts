import { listMergedModels, listModels, mergedModelsById } from "../../services/catalog.js";
import { getFineTuned, isFineTunedName, listFineTuned } from "../../services/fine-tuned.js";
import { findModel } from "../../services/models.js";
import { OpenAIError } from "./errors.js";
import { unixSeconds, type Route, type RouteDeps } from "./route.js";

// Models by the id a request names them with: a base model by its name, a merged model by its id, a fine-tuned
// model by `ft:<base model name>:<suffix or run id>`. `parent` is the base model a merged or fine-tuned one came from.

const model = (id: string, created: Date, ownedBy: string, parent: string | null) => ({ id, object: "model", created: unixSeconds(created), owned_by: ownedBy, parent });

/** GET /v1/models: base models, READY merged models, and the model of every succeeded fine-tuning job. */
export const listAll: Route = async ({ services }, _req, res) => {
  const [bases, merged, tuned] = await Promise.all([listModels(services), listMergedModels(services), listFineTuned(services)]);
  const names = new Map(bases.map((b) => [b.id, b.name]));
  res.json({
    object: "list",
    data: [
      ...bases.map((b) => model(b.name, b.createdAt, "tunegraph", null)),
      ...merged.filter((m) => m.status === "READY").map((m) => model(m.id, m.createdAt, "user", names.get(m.baseModelId) ?? null)),
      ...tuned.map((t) => model(t.name, t.createdAt, "user", t.baseModelName)),
    ],
  });
};

/** GET /v1/models/{model} */
export const retrieve: Route = async (deps, req, res) => {
  res.json(await describe(deps, String(req.params.model)));
};

async function describe({ services }: RouteDeps, id: string): Promise<object> {
  if (isFineTunedName(id)) {
    const t = await getFineTuned(services, id);
    return model(t.name, t.createdAt, "user", t.baseModelName);
  }
  const base = await findModel(services, id);
  if (base) return model(base.name, base.createdAt, "tunegraph", null);
  const [merged] = await mergedModelsById(services, [id]);
  if (merged?.status === "READY") return model(merged.id, merged.createdAt, "user", (await findModel(services, merged.baseModelId))?.name ?? null);
  throw new OpenAIError(404, `The model '${id}' does not exist`, "model", "model_not_found");
}
