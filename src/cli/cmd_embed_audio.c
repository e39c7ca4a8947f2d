/* cmd_embed_audio.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int embed_audio_run(const cli_embed_opts *o) {
    (void)o;
    cli_error("embed_audio: not built yet");
    return CLI_FAIL;
}
