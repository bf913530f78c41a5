/* libFuzzer harness: adoption CSV. Each input is parsed as it is (UTF-8, or
 * UTF-16 when it starts with a byte-order mark), then behind a UTF-16LE and
 * a UTF-16BE byte-order mark (so the UTF-16 decoder sees every input) and
 * once with a version-code mapping (rows added up per version and date).
 * Seeds: tests/data/csv. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "importers/importers.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size, const struct adoption_csv_opts *opts)
{
	struct adoption_csv a;
	char err[ERRLEN] = "";
	if (importers_parse_adoption_csv_opts((const char *)data, size, "fuzz", opts, &a, err,
					      sizeof(err)) == 0) {
		double sum = 0;
		for (size_t i = 0; i < a.nrows; i++) {
			if (!(a.rows[i].share >= 0.0 && a.rows[i].share <= 1.0) ||
			    !a.rows[i].version || !a.rows[i].at[0])
				__builtin_trap();
			sum += a.rows[i].share;
		}
		if (a.nrows == 0 || !a.format || sum != sum)
			__builtin_trap();
		importers_adoption_free(&a);
	} else if (a.nrows != 0 || a.rows || err[0] == '\0') {
		__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct adoption_code codes[] = { { "1", "4.2.0" }, { "2", "4.2.0" } };
	static const struct adoption_csv_opts opts = { .codes = codes, .ncodes = 2 };
	one(data, size, NULL);
	one(data, size, &opts);
	if (size > IMPORTERS_MAX_CSV - 2)
		return 0;
	uint8_t *buf = malloc(size + 2);
	if (!buf)
		return 0;
	memcpy(buf + 2, data, size);
	buf[0] = 0xff, buf[1] = 0xfe;
	one(buf, size + 2, NULL);
	buf[0] = 0xfe, buf[1] = 0xff;
	one(buf, size + 2, NULL);
	free(buf);
	return 0;
}
