/* cmd_eval.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_eval(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("eval: not built yet");
    return CLI_FAIL;
}
