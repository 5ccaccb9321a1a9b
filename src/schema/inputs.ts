import { Field, Float, ID, InputType, Int } from "type-graphql";
import { RunStatus } from "./enums.js";
import { DataOptionsInput, TrainingHyperparametersInput } from "./hyperparameters.js";

@InputType()
export class StartTrainingInput {
  @Field(() => String, { nullable: true, description: "a name to show in lists and the dashboard (not unique; at most 200 characters)" }) name?: string;
  @Field(() => ID) baseModelId!: string;
  @Field(() => ID) datasetId!: string;
  @Field(() => ID, { nullable: true, description: "start the LoRA weights from this adapter" }) initAdapterId?: string;
  @Field(() => ID, { nullable: true, description: "held-out conversations to evaluate on every evalSteps and at the end (or hyperparameters.evalSplit)" }) evalDatasetId?: string;
  @Field(() => TrainingHyperparametersInput, { nullable: true }) hyperparameters?: TrainingHyperparametersInput;
  @Field(() => DataOptionsInput, { nullable: true }) data?: DataOptionsInput;
}

@InputType()
export class ChatMessageInput {
  @Field({ description: "system, user or assistant" }) role!: string;
  @Field() content!: string;
}

@InputType()
export class GenerateInput {
  @Field(() => ID, { description: "a merged model, or a base model (exported to fp32 ONNX on first use, adapter-ready)" }) modelId!: string;
  @Field(() => ID, { nullable: true, description: "an adapter of the base model modelId names, served without merging (loaded on first use)" }) adapterId?: string;
  @Field({ nullable: true, description: "raw text, used exactly as given" }) prompt?: string;
  @Field(() => [ChatMessageInput], { nullable: true, description: "rendered with the chat template" }) messages?: ChatMessageInput[];
  @Field(() => Int, { nullable: true, description: "default 64" }) maxNewTokens?: number;
  @Field(() => Float, { nullable: true, description: "0 = greedy (default)" }) temperature?: number;
  @Field(() => Float, { nullable: true }) topP?: number;
  @Field(() => Int, { nullable: true, description: "0 = off" }) topK?: number;
  @Field(() => Float, { nullable: true }) repetitionPenalty?: number;
  @Field(() => Int, { nullable: true }) seed?: number;
  @Field(() => [String], { nullable: true }) stop?: string[];
  @Field({ nullable: true, description: "keep the end of a prompt longer than the context" }) truncate?: boolean;
}

@InputType()
export class TrainingRunFilter {
  @Field(() => [RunStatus], { nullable: true }) status?: RunStatus[];
  @Field(() => ID, { nullable: true }) baseModelId?: string;
}
