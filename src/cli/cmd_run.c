/* cmd_run.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_run(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("run: not built yet");
    return CLI_FAIL;
}
