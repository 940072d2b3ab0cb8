/* Signal detail, registers, slogan and signature from a (mini)core's notes,
 * merged into the unwinder's output. For the sandboxed analysis child. */
#pragma once

#include <json-c/json.h>

#define CRASHINFO_CORE_MAX (256u << 20) /* bytes of (mini)core read into memory */

/* Read the core at core_fd (a minicore: small), parse its notes, and add to out
 * (unwind_core's object): "siginfo" {signo, code, code_name, errno, addr (hex or
 * null), sender_pid, sender_uid, fault_region, fault_module/fault_offset or
 * fault_thread when they apply, signature_kind (verdict_kind)}, "registers" in each of out's threads, "slogan",
 * "signature" (or null). A core
 * whose notes cannot be parsed gets "notes_error".
 * Returns 0 or a negative errno (-EFBIG past CRASHINFO_CORE_MAX). */
int crashinfo_add(int core_fd, json_object *out);
