import { Field, Float, InputType, Int, ObjectType } from "type-graphql";

/** Every trainer option (HF TrainingArguments / LoraConfig, camelCased); unset input fields take the reference job's values. */
@ObjectType("TrainingHyperparameters")
export class TrainingHyperparametersType {
  @Field(() => Int) r!: number;
  @Field(() => Float) loraAlpha!: number;
  @Field(() => Float) loraDropout!: number;
  @Field(() => [String]) targetModules!: string[];
  @Field() useRslora!: boolean;
  @Field(() => Int) batchSize!: number;
  @Field(() => Int) gradientAccumulationSteps!: number;
  @Field(() => Float) learningRate!: number;
  @Field(() => Int) maxSteps!: number;
  @Field(() => Float) epochs!: number;
  @Field() optim!: string;
  @Field(() => Float) weightDecay!: number;
  @Field(() => Float) adamBeta1!: number;
  @Field(() => Float) adamBeta2!: number;
  @Field(() => Float) adamEpsilon!: number;
  @Field() scheduler!: string;
  @Field(() => Int) warmupSteps!: number;
  @Field(() => Float) warmupRatio!: number;
  @Field(() => Float) maxGradNorm!: number;
  @Field(() => Int) maxSeqLength!: number;
  @Field() packing!: boolean;
  @Field() completionOnly!: boolean;
  @Field(() => Int) seed!: number;
  @Field(() => Int) loggingSteps!: number;
  @Field(() => Int) saveSteps!: number;
  @Field() quant!: string;
  @Field() gradientCheckpointing!: boolean;
}

@InputType()
export class TrainingHyperparametersInput {
  @Field(() => Int, { nullable: true, description: "LoRA rank (default 8)" }) r?: number;
  @Field(() => Float, { nullable: true, description: "default 16" }) loraAlpha?: number;
  @Field(() => Float, { nullable: true, description: "default 0.1" }) loraDropout?: number;
  @Field(() => [String], { nullable: true, description: "any of q_proj, k_proj, v_proj, dense, fc1, fc2 (default q_proj, v_proj)" }) targetModules?: string[];
  @Field({ nullable: true }) useRslora?: boolean;
  @Field(() => Int, { nullable: true, description: "default 4" }) batchSize?: number;
  @Field(() => Int, { nullable: true }) gradientAccumulationSteps?: number;
  @Field(() => Float, { nullable: true, description: "default 2e-4" }) learningRate?: number;
  @Field(() => Int, { nullable: true, description: "> 0 wins over epochs (default 5000)" }) maxSteps?: number;
  @Field(() => Float, { nullable: true }) epochs?: number;
  @Field({ nullable: true, description: "adamw or adamw8bit (default)" }) optim?: string;
  @Field(() => Float, { nullable: true }) weightDecay?: number;
  @Field(() => Float, { nullable: true }) adamBeta1?: number;
  @Field(() => Float, { nullable: true }) adamBeta2?: number;
  @Field(() => Float, { nullable: true }) adamEpsilon?: number;
  @Field({ nullable: true, description: "constant (default), linear or cosine" }) scheduler?: string;
  @Field(() => Int, { nullable: true }) warmupSteps?: number;
  @Field(() => Float, { nullable: true }) warmupRatio?: number;
  @Field(() => Float, { nullable: true, description: "default 0.3" }) maxGradNorm?: number;
  @Field(() => Int, { nullable: true, description: "default 512" }) maxSeqLength?: number;
  @Field({ nullable: true }) packing?: boolean;
  @Field({ nullable: true }) completionOnly?: boolean;
  @Field(() => Int, { nullable: true }) seed?: number;
  @Field(() => Int, { nullable: true, description: "default 500" }) loggingSteps?: number;
  @Field(() => Int, { nullable: true, description: "default 500" }) saveSteps?: number;
  @Field({ nullable: true, description: "nf4 (default) or none" }) quant?: string;
  @Field({ nullable: true }) gradientCheckpointing?: boolean;
}

@ObjectType("DataOptions")
export class DataOptionsType {
  @Field(() => [String]) languages!: string[];
  @Field() paths!: string;
  @Field() includeDeleted!: boolean;
  @Field() includeSynthetic!: boolean;
  @Field() includeFailedReview!: boolean;
}

@InputType()
export class DataOptionsInput {
  @Field(() => [String], { nullable: true, description: "OASST language codes to keep; empty = all" }) languages?: string[];
  @Field({ nullable: true, description: "best (rank-0 path of each tree, default) or all" }) paths?: string;
  @Field({ nullable: true }) includeDeleted?: boolean;
  @Field({ nullable: true }) includeSynthetic?: boolean;
  @Field({ nullable: true }) includeFailedReview?: boolean;
}
