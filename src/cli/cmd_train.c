/* cmd_train.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_train(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("train: not built yet");
    return CLI_FAIL;
}
