/* The crash ids fuzz_spool writes its notes under, and gen_seeds its seeds. */
#pragma once
#define FUZZ_ID_PENDING "20261121T124905.123456Z-ab12cd34-4242"
#define FUZZ_ID_PARKED  "20261121T124906.000001Z-ab12cd34-4243"
#define FUZZ_POOL_BYTES "0123456789abcdef" /* the parked pool beside the note: 16 bytes */
