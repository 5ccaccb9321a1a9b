import { Field, Float, InputType, Int, ObjectType } from "type-graphql";
import { HYPERPARAMETERS, helpOf, type ParamSpec, type TrainingHyperparameters } from "../backends/training/spec.js";
import { DATA_OPTIONS, type DataOptions } from "../data/options.js";

// The GraphQL object and input types of the hyperparameters and data options, built field by field from their specs
// (src/backends/training/spec.ts, src/data/options.ts): a new entry there is a new field here, with its help and default.

type Kind = ParamSpec["type"] | "languages";
const graphqlType = (kind: Kind) =>
  kind === "int" ? Int : kind === "float" ? Float : kind === "bool" ? Boolean : kind === "choice" ? String : [String];
const defaultText = (d: unknown) => (Array.isArray(d) ? d.join(", ") || "none" : String(d));

/** Every trainer option (HF TrainingArguments / LoraConfig, camelCased). */
export class TrainingHyperparametersType {}
// the fields are added below, from the spec; the interface gives the class their TS types
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface TrainingHyperparametersType extends TrainingHyperparameters {}

/** Unset fields take the reference job's values. */
export class TrainingHyperparametersInput {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface TrainingHyperparametersInput extends Partial<TrainingHyperparameters> {}

for (const [name, p] of HYPERPARAMETERS) {
  Field(() => graphqlType(p.type), { description: p.help })(TrainingHyperparametersType.prototype, name);
  Field(() => graphqlType(p.type), { nullable: true, description: helpOf(name) })(TrainingHyperparametersInput.prototype, name);
}
ObjectType("TrainingHyperparameters", { description: "Every trainer option (HF TrainingArguments / LoraConfig, camelCased)" })(TrainingHyperparametersType);
InputType("TrainingHyperparametersInput", { description: "Unset fields take the reference job's values" })(TrainingHyperparametersInput);

/** How conversations are read from the dataset. */
export class DataOptionsType {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface DataOptionsType extends DataOptions {}

export class DataOptionsInput {}
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface DataOptionsInput extends Partial<DataOptions> {}

for (const [name, p] of DATA_OPTIONS) {
  Field(() => graphqlType(p.type), { description: p.help })(DataOptionsType.prototype, name);
  Field(() => graphqlType(p.type), { nullable: true, description: `${p.help} (default ${defaultText(p.default)})` })(DataOptionsInput.prototype, name);
}
ObjectType("DataOptions")(DataOptionsType);
InputType("DataOptionsInput")(DataOptionsInput);
