export * from "./protocol";
export * from "./redisServer";
export * from "./containerSpec";
export { Endpoint, EnvironmentBaseArgs } from "./vault";
export * from "./standardEnvironment";
export * from "./secureEnvironment";
