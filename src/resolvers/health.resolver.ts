import { Ctx, Query, Resolver } from "type-graphql";
import { checkHealth } from "../services/health.js";
import { Health } from "../schema/types.js";
import type { ApiContext } from "./context.js";

@Resolver()
export class HealthResolver {
  @Query(() => Health, { description: "liveness and database reachability; needs no API key" })
  health(@Ctx() { services }: ApiContext): Promise<Health> {
    return checkHealth(services);
  }
}
