/**
 * libc's `dlopen`/`dlsym` through `Deno.dlopen` (needs `--allow-ffi`), for what `Deno.dlopen`
 * alone cannot do: load a library with `RTLD_GLOBAL` (Open MPI's plugins need its symbols),
 * find a global's address (Open MPI's handles), or pin a library with `RTLD_NODELETE` so that it
 * stays mapped for the life of the process. Pinning matters for libraries that start their own
 * threads (oneDNN's OpenMP pool): when the `Deno.DynamicLibrary` that opened one is closed, for
 * instance as a test worker ends, a still-spinning thread would otherwise run unmapped code.
 *
 * @module
 */

/** glibc's `dlopen` flags (`<dlfcn.h>`). */
export const RTLD = { now: 2, noload: 4, global: 0x100, nodelete: 0x1000 } as const;

const LIBC = {
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
  dlsym: { parameters: ["pointer", "buffer"], result: "pointer" },
  dlerror: { parameters: [], result: "pointer" },
} as const;

let libc: Deno.DynamicLibrary<typeof LIBC> | null = null;

function c(s: string): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(s + "\0");
}

function open(): Deno.DynamicLibrary<typeof LIBC> {
  libc ??= Deno.dlopen(Deno.build.os === "darwin" ? "libSystem.B.dylib" : "libc.so.6", LIBC);
  return libc;
}

/**
 * libc's `dlopen(path, flags)`: the handle, or the loader's complaint as a string. The handle is
 * never closed, so the library stays loaded.
 */
export function nativeOpen(path: string, flags: number): Deno.PointerObject | string {
  const lib = open();
  const handle = lib.symbols.dlopen(c(path), flags);
  if (handle !== null) return handle;
  const err = lib.symbols.dlerror();
  return err === null ? "dlopen failed" : new Deno.UnsafePointerView(err).getCString();
}

/** libc's `dlsym(handle, name)`: the symbol's address, or null when there is none. */
export function nativeSymbol(handle: Deno.PointerObject, name: string): Deno.PointerValue {
  return open().symbols.dlsym(handle, c(name));
}
