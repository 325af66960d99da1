export * from "./protocol";
export * from "./redisServer";
export * from "./containerSpec";
export * from "./swarmSpec";
export { Endpoint, EnvironmentBaseArgs, PLATFORMS, Platform, SwarmPlacement } from "./environmentArgs";
export * from "./standardEnvironment";
export * from "./secureEnvironment";
