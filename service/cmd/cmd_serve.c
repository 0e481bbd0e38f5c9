/* cmd_serve.c - `lmnas serve` (being built: see issue 2). */
#include "cmd.h"

#include <stdio.h>

int cmd_serve(const struct config *cfg, int argc, char **argv)
{
	fprintf(stderr, "lmnas serve: not built yet\n");
	return 1;
}
