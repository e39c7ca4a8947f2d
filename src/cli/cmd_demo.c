/* cmd_demo.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_demo(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("demo: not built yet");
    return CLI_FAIL;
}
