/* cmd_synth.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int cmd_synth(int argc, char **argv) {
    (void)argc; (void)argv;
    cli_error("synth: not built yet");
    return CLI_FAIL;
}
