export * from "./protocol";
export * from "./redisServer";
export * from "./containerSpec";
export * from "./swarmSpec";
export { Endpoint, EnvironmentBaseArgs, Platform, SwarmPlacement } from "./redisNode";
export * from "./standardEnvironment";
export * from "./secureEnvironment";
