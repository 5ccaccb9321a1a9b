import { GraphQLDateTime, GraphQLJSONObject } from "graphql-scalars";
import { createUnionType, Field, Float, ID, Int, ObjectType } from "type-graphql";
import { LogLevel, MergeStatus, Precision, ProgressKind, RunStatus } from "./enums.js";
import { DataOptionsType, TrainingHyperparametersType } from "./hyperparameters.js";

// Relation fields (a run's model, dataset, metrics, ...) are added by the resolvers' @FieldResolver methods;
// the *Id properties below carry the foreign keys to them and are not exposed.

@ObjectType({ description: "A Phi checkpoint directory in HF layout (config.json, safetensors, tokenizer)" })
export class BaseModel {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() path!: string;
  @Field() architecture!: string;
  @Field(() => Float) parameterCount!: number;
  @Field(() => GraphQLJSONObject, { description: "config.json as HF writes it" }) config!: Record<string, unknown>;
  @Field({ description: "written with random weights by initModel (the demo model, `tunegraph init-model`): generations are noise until a real checkpoint is registered (registerModel)" })
  randomWeights!: boolean;
  @Field(() => GraphQLDateTime) createdAt!: Date;
}

@ObjectType({ description: "A conversation file: OASST message rows or trees, guanaco text rows, or tokenized rows" })
export class Dataset {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() path!: string;
  @Field() format!: string;
  @Field(() => Int) conversationCount!: number;
  @Field(() => GraphQLJSONObject, { description: "rows or messages left out, by reason" }) skipped!: Record<string, number>;
  @Field(() => String, { nullable: true, description: "the uploaded file's own name (/v1/files)" }) filename!: string | null;
  @Field(() => GraphQLDateTime) createdAt!: Date;
}

@ObjectType()
export class TrainingMetric {
  @Field(() => Int) step!: number;
  @Field(() => Float, { nullable: true, description: "mean over the window's updated steps; null when not finite (NaN, ±Infinity: every step of the window was skipped)" })
  loss!: number | null;
  @Field(() => Float, { nullable: true, description: "null when not finite (NaN, ±Infinity)" }) gradNorm!: number | null;
  @Field(() => Float) learningRate!: number;
  @Field(() => Float) epoch!: number;
  @Field(() => Float) tokensPerSecond!: number;
  @Field(() => GraphQLDateTime) at!: Date;
}

@ObjectType({ description: "One evaluation on the run's eval set, as HF Trainer's evaluate() reports it" })
export class EvalMetric {
  @Field(() => Int) step!: number;
  @Field(() => Float, { nullable: true, description: "eval_loss: the mean cross-entropy over every counted eval token; null when not finite" })
  evalLoss!: number | null;
  @Field(() => Float, { nullable: true, description: "exp(evalLoss); null when not finite" }) perplexity!: number | null;
  @Field(() => Int, { description: "the counted (trained) tokens the loss is the mean over" }) evalTokens!: number;
  @Field(() => Float, { description: "eval_runtime, seconds" }) evalRuntime!: number;
  @Field(() => Float) evalSamplesPerSecond!: number;
  @Field(() => Float) epoch!: number;
  @Field(() => GraphQLDateTime) at!: Date;
}

@ObjectType()
export class TrainingLog {
  @Field(() => LogLevel) level!: LogLevel;
  @Field() message!: string;
  @Field(() => GraphQLDateTime) at!: Date;
}

@ObjectType({ description: "A PEFT adapter plus trainer state, written every saveSteps; a run resumes from its last one" })
export class Checkpoint {
  @Field(() => ID) id!: string;
  @Field(() => Int) step!: number;
  @Field() path!: string;
  @Field(() => GraphQLDateTime) createdAt!: Date;
}

@ObjectType({ description: "HF Trainer's train() summary" })
export class TrainingSummary {
  @Field(() => Float) trainRuntime!: number;
  @Field(() => Float) trainSamplesPerSecond!: number;
  @Field(() => Float) trainStepsPerSecond!: number;
  @Field(() => Float, { nullable: true, description: "null when not finite" }) trainLoss!: number | null;
  @Field(() => Float) epoch!: number;
  @Field(() => Int) globalStep!: number;
  @Field(() => Float, { nullable: true, description: "the last evaluation's loss; null without an eval set (or when not finite)" }) evalLoss!: number | null;
  @Field(() => Int, { description: "steps whose update was skipped, their loss or gradient norm not finite (counted in globalStep)" })
  skippedSteps!: number;
}

@ObjectType()
export class TrainingRun {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true, description: "the name given at startTraining (not unique)" }) name!: string | null;
  @Field(() => RunStatus) status!: RunStatus;
  @Field(() => TrainingHyperparametersType) hyperparameters!: TrainingHyperparametersType;
  @Field(() => DataOptionsType) data!: DataOptionsType;
  @Field({ description: "training backend (tfjs)" }) backend!: string;
  @Field(() => String, { nullable: true, description: "wasm, tensorflow, tensorflow-gpu, ... (known once started)" }) engine!: string | null;
  @Field(() => String, { nullable: true, description: "cpu or gpu" }) device!: string | null;
  @Field(() => Int) currentStep!: number;
  @Field(() => Int) maxSteps!: number;
  @Field(() => Float) epoch!: number;
  @Field(() => Float, { nullable: true }) latestLoss!: number | null;
  @Field(() => TrainingSummary, { nullable: true }) summary!: TrainingSummary | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field() outDir!: string;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  @Field(() => GraphQLDateTime, { nullable: true }) startedAt!: Date | null;
  @Field(() => GraphQLDateTime, { nullable: true }) finishedAt!: Date | null;
  @Field(() => GraphQLDateTime) updatedAt!: Date;
  @Field(() => String, { nullable: true, description: "ends the fine-tuned model's name (/v1): ft:<base model name>:<suffix or run id>" }) suffix!: string | null;
  baseModelId!: string;
  datasetId!: string;
  validationDatasetId!: string | null;
  initAdapterId!: string | null;
}

@ObjectType()
export class PageInfo {
  @Field(() => String, { nullable: true, description: "pass as `after` for the next page" }) endCursor!: string | null;
  @Field() hasNextPage!: boolean;
}

@ObjectType()
export class TrainingRunConnection {
  @Field(() => [TrainingRun]) nodes!: TrainingRun[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
  @Field(() => Int) totalCount!: number;
}

@ObjectType({ description: "A LoRA adapter (PEFT layout): trained by a run, or imported" })
export class Adapter {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field(() => Int) r!: number;
  @Field(() => Float) loraAlpha!: number;
  @Field(() => Float) loraDropout!: number;
  @Field(() => [String]) targetModules!: string[];
  @Field() path!: string;
  @Field(() => Float) sizeBytes!: number;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  baseModelId!: string;
  runId!: string | null;
}

@ObjectType({ description: "An adapter merged into its base model and exported to ONNX, ready for generate" })
export class MergedModel {
  @Field(() => ID) id!: string;
  @Field(() => Precision) precision!: Precision;
  @Field(() => MergeStatus) status!: MergeStatus;
  @Field() path!: string;
  @Field(() => Float, { nullable: true }) sizeBytes!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  @Field(() => GraphQLDateTime) updatedAt!: Date;
  adapterId!: string;
  baseModelId!: string;
}

export const ServedModel = createUnionType({
  name: "ServedModel",
  types: () => [BaseModel, MergedModel] as const,
  resolveType: (value) => ("precision" in value ? MergedModel : BaseModel),
});

@ObjectType()
export class ChatMessage {
  @Field({ description: "system, user or assistant" }) role!: string;
  @Field() content!: string;
}

@ObjectType()
export class Generation {
  @Field(() => ID) id!: string;
  @Field(() => String, { nullable: true }) prompt!: string | null;
  @Field(() => [ChatMessage], { nullable: true }) messages!: ChatMessage[] | null;
  @Field() text!: string;
  @Field({ description: "stop, length or cancelled" }) finishReason!: string;
  @Field(() => Int) promptTokens!: number;
  @Field(() => Int) completionTokens!: number;
  @Field(() => Float) timeToFirstTokenMs!: number;
  @Field(() => Float) tokensPerSecond!: number;
  @Field(() => GraphQLJSONObject, { description: "the sampling options as given" }) sampling!: Record<string, unknown>;
  @Field(() => GraphQLDateTime) createdAt!: Date;
  baseModelId!: string | null;
  mergedModelId!: string | null;
  adapterId!: string | null;
}

@ObjectType({ description: "One event of a training run; which fields are set depends on kind" })
export class TrainingProgressEvent {
  @Field(() => ProgressKind) kind!: ProgressKind;
  @Field(() => ID) runId!: string;
  @Field(() => RunStatus) status!: RunStatus;
  @Field(() => Int) currentStep!: number;
  @Field(() => Int) maxSteps!: number;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field(() => TrainingMetric, { nullable: true }) metric!: TrainingMetric | null;
  @Field(() => [TrainingMetric], { nullable: true, description: "STATE: the metrics so far (the last 100)" }) metrics!: TrainingMetric[] | null;
  @Field(() => EvalMetric, { nullable: true }) eval!: EvalMetric | null;
  @Field(() => [EvalMetric], { nullable: true, description: "STATE: every evaluation so far" }) evalMetrics!: EvalMetric[] | null;
  @Field(() => [TrainingLog], { nullable: true, description: "STATE: the log lines so far (the last 100)" }) logs!: TrainingLog[] | null;
  @Field(() => Checkpoint, { nullable: true }) checkpoint!: Checkpoint | null;
  @Field(() => TrainingLog, { nullable: true }) log!: TrainingLog | null;
  @Field(() => GraphQLDateTime) at!: Date;
}

@ObjectType({ description: "Text as it is decoded; the last chunk has done = true and the stored Generation" })
export class GenerationChunk {
  @Field() text!: string;
  @Field() done!: boolean;
  @Field(() => Generation, { nullable: true }) generation!: Generation | null;
}

@ObjectType()
export class Health {
  @Field() ok!: boolean;
  @Field() database!: boolean;
  @Field() version!: string;
  @Field(() => Float) uptimeSeconds!: number;
}
