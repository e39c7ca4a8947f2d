/* cmd_embed_text.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int embed_text_run(const cli_embed_opts *o) {
    (void)o;
    cli_error("embed_text: not built yet");
    return CLI_FAIL;
}
