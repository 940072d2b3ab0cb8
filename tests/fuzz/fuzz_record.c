/* libFuzzer harness for the JSON record loader (store/record.c): the input is
 * a store/<id>.json, read by record_load (parse + record_validate) and by
 * record_read_object. What record_load accepts must validate again and be
 * readable through the typed getters. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "store/record.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[512];
	json_object *o = NULL;

	if (!path[0])
		fuzz_path(path, sizeof(path), "", "record.json");
	fuzz_write(path, data, size);
	if (record_load(path, &o) == 0) {
		const char *why = NULL;
		if (record_validate(o, &why) < 0)
			abort();
		(void)strlen(record_str(o, "id", ""));
		(void)record_i64(o, "pid", 0);
		json_object *core = record_obj(o, "core");
		if (core)
			(void)record_core_status_valid(record_str(core, "status", ""));
		(void)strlen(json_object_to_json_string(o));
		json_object_put(o);
	}
	o = NULL;
	if (record_read_object(path, 65536, &o) == 0) {
		if (!json_object_is_type(o, json_type_object))
			abort();
		json_object_put(o);
	}
	fuzz_fd_check();
	return 0;
}
