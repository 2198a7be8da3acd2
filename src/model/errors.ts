// Error kinds the CLI maps to exit codes: a model bug found while running it, and bad user input.

/** A model bug found while running it (out-of-range write, bad index, unknown label, a throwing step). */
export class ModelError extends Error {
  override name = 'ModelError';
}

/** A step threw or misbehaved: which thread, which label. */
export class StepError extends ModelError {
  constructor(
    message: string,
    readonly thread: string,
    readonly label: string,
  ) {
    super(message);
  }
}

/** Bad user input: unknown model/variant/parameter, malformed trace, bad option value. */
export class InputError extends Error {
  override name = 'InputError';
}
