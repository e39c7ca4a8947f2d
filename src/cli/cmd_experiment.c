/* cmd_experiment.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_experiment(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("experiment: not built yet");
    return CLI_FAIL;
}
