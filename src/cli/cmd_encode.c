/* cmd_encode.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_encode(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("encode: not built yet");
    return CLI_FAIL;
}
