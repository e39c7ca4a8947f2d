/* cmd_store.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_store(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("store: not built yet");
    return CLI_FAIL;
}
