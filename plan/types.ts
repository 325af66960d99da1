/**
 * What the plan records of each registration, shared by the mocks that record it (mocks.ts),
 * the plan that reads it (plan.ts) and the engine stand-in (engine.ts). Kept apart so that
 * mocks.ts and plan.ts do not import each other.
 */
/** Resource options that decide what a replacement or a destroy does to data. */
export interface LifecycleOptions {
    deleteBeforeReplace?: boolean;
    retainOnDelete?: boolean;
    ignoreChanges?: string[];
    replaceOnChanges?: string[];
}

/**
 * What the engine records of a registration besides its inputs (its state keeps them): the
 * resource's dependencies, and for each input property the resources whose outputs its value
 * came from. The engine's dependent replacement goes by the latter (plan/engine.ts).
 */
export interface Registration {
    urn: string;
    type: string;
    name: string;
    /** A custom resource (a provider's); components hold no state. */
    custom: boolean;
    /** Input property → URNs of the resources whose outputs its value came from. */
    propertyDependencies: Record<string, string[]>;
    /** Every resource it depends on: its dependsOn and its property dependencies. */
    dependencies: string[];
    options: LifecycleOptions;
}
