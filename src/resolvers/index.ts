import { AdapterResolver } from "./adapter.resolver.js";
import { DatasetResolver } from "./dataset.resolver.js";
import { GenerationResolver } from "./generation.resolver.js";
import { HealthResolver } from "./health.resolver.js";
import { HubResolver } from "./hub.resolver.js";
import { MergedModelResolver } from "./merged.resolver.js";
import { ModelResolver } from "./model.resolver.js";
import { ProgressResolver } from "./progress.resolver.js";
import { TrainingResolver } from "./training.resolver.js";

export const resolvers = [
  HealthResolver,
  ModelResolver,
  DatasetResolver,
  TrainingResolver,
  ProgressResolver,
  AdapterResolver,
  MergedModelResolver,
  GenerationResolver,
  HubResolver,
] as const;

export type { ApiContext } from "./context.js";
