/* Symbol names as people read them: C++ (Itanium ABI, "_Z…") and Rust (legacy
 * "_ZN…17h<hash>E" and v0 "_R…"), by libiberty's allocation-free demanglers.
 * The names come from the crashed process's binaries: hostile input. So the
 * input and the output are capped, and anything the demangler refuses, or
 * that reaches a cap, keeps its raw name. */
#pragma once

#include <stddef.h>

#define DEMANGLE_IN_MAX  4096  /* bytes of a mangled name tried; longer ones stay raw */
#define DEMANGLE_OUT_MAX 1024  /* bytes of a demangled name (UNWIND_NAME_MAX); more: raw */

/* Demangle raw into buf (len bytes, at least DEMANGLE_OUT_MAX + 1 to use the
 * whole cap). A symbol version ("@@GLIBCXX_3.4") is kept as a suffix.
 * Returns the length written (> 0), or a negative errno, buf then unspecified:
 *   -EINVAL     not a mangled name (a C name, "main"): show raw as it is
 *   -E2BIG      raw is longer than DEMANGLE_IN_MAX
 *   -EOVERFLOW  the name demangles to more than DEMANGLE_OUT_MAX bytes (or len)
 *   -EBADMSG    it looks mangled but the demangler refused it */
int demangle_name(const char *raw, char *buf, size_t len);
