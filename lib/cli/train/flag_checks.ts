/**
 * Flags a run would ignore are errors, not silence: `--backbone` and `--head-channels` for the
 * models that have no VGG backbone or no fc6/fc7 head, and, with `--resume`, the settings a
 * resumed run takes from its `config.json`.
 *
 * @module
 */
import { camel, type Parsed, UsageError } from "../flags.ts";
import { RESUME_OVERRIDES, TRAIN_FLAGS } from "./settings.ts";

/** Why a flag does not apply to a model, by model name prefix. */
const NOT_FOR_MODEL: [prefix: string, flag: string, why: string][] = [
  [
    "fcn_resnet",
    "backbone",
    "its backbone is the ResNet of its name (fcn_resnet101 for the deeper one)",
  ],
  [
    "fcn_resnet",
    "headChannels",
    "its head's channels follow the ResNet's (a quarter of its last stage; --width scales them)",
  ],
  ["fcn_fusion", "headChannels", "it has no fc6/fc7 head"],
];

/** `headChannels` -> `--head-channels`. */
function flagName(key: string): string {
  return `--${TRAIN_FLAGS.find((f) => camel(f.name) === key)?.name ?? key}`;
}

/** A flag as given: `--head-channels 32`. */
function shown(parsed: Parsed, key: string): string {
  const v = parsed.values[key];
  return typeof v === "boolean" ? flagName(key) : `${flagName(key)} ${v}`;
}

/**
 * Throws a {@linkcode UsageError} naming a flag given on the command line that the run would
 * ignore, why, and what to do.
 */
export function checkGivenFlags(parsed: Parsed): void {
  const v = parsed.values;
  if (v.resume) {
    const takes: string[] = [...RESUME_OVERRIDES, "maxSteps"];
    const ignored = [...parsed.given].filter((k) => k !== "resume" && !takes.includes(k));
    if (ignored.length) {
      throw new UsageError(
        `${ignored.map((k) => shown(parsed, k)).join(", ")}: a resumed run keeps the settings ` +
          `of ${v.resume}/config.json and takes only ${takes.map(flagName).join(", ")}; drop ` +
          "the flag, or start a new run with --out",
      );
    }
    return;
  }
  const model = String(v.model);
  for (const [prefix, key, why] of NOT_FOR_MODEL) {
    if (model.startsWith(prefix) && parsed.given.has(key)) {
      throw new UsageError(`${shown(parsed, key)} does not apply to ${model}: ${why}; drop it`);
    }
  }
}
