/* json-c objects as locals: put (json_object_put) when the variable goes out
 * of scope. Every stage that builds JSON uses it; the record's own rules are
 * in store/record.h. */
#pragma once

#include <json-c/json.h>

static inline void json_putp(json_object **o)
{
	json_object_put(*o);
}
#define _cleanup_json_ __attribute__((cleanup(json_putp)))
