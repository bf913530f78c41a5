/* bench_apk: pinwatch import-apk's parse (importers_parse_apk: zip, binary
 * manifest, resources.arsc, binary NSC, @raw anchors) against the baseline
 * of only opening the archive and inflating the same entries with libzip,
 * in the same process.
 *
 * usage: bench_apk FILE.apk [REPS]   (bench/README.md shows how to build one)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "importers/importers.h"
#include "base/util.h"

static size_t inflate_entry(zip_t *za, const char *name)
{
	char buf[65536];
	size_t total = 0;
	zip_file_t *f = zip_fopen(za, name, 0);
	if (!f)
		return 0;
	zip_int64_t r;
	while ((r = zip_fread(f, buf, sizeof(buf))) > 0)
		total += (size_t)r;
	zip_fclose(f);
	return total;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_apk FILE.apk [REPS]\n");
		return 2;
	}
	int reps = argc > 2 ? atoi(argv[2]) : 2000;
	char err[ERRLEN];
	struct import_apk a;
	if (importers_parse_apk(argv[1], argv[1], &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	char nsc[512];
	snprintf(nsc, sizeof(nsc), "%s", a.nsc_path ? a.nsc_path : "");
	size_t npol = a.policies.npolicies;
	importers_apk_free(&a);

	size_t bytes = 0;
	int64_t t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		zip_t *za = zip_open(argv[1], ZIP_RDONLY | ZIP_CHECKCONS, NULL);
		if (!za)
			return 1;
		bytes = inflate_entry(za, "AndroidManifest.xml") +
			inflate_entry(za, "resources.arsc");
		if (nsc[0])
			bytes += inflate_entry(za, nsc);
		zip_discard(za);
	}
	int64_t base = util_mono_ms() - t0;
	t0 = util_mono_ms();
	for (int i = 0; i < reps; i++) {
		if (importers_parse_apk(argv[1], argv[1], &a, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		importers_apk_free(&a);
	}
	int64_t full = util_mono_ms() - t0;
	printf("APK %s: %zu policies; libzip open + inflate %zu bytes: %.3f ms, "
	       "importers_parse_apk: %.3f ms (%.2fx the baseline)\n",
	       argv[1], npol, bytes, (double)base / reps, (double)full / reps,
	       base > 0 ? (double)full / (double)base : 0.0);
	return 0;
}
