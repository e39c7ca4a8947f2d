/* cmd_embed_vision.c — placeholder until its issue lands (replaced wholesale by the owner). */
#include "cli/cli.h"
int embed_image_run(const cli_embed_opts *o, int is_video) {
    (void)o; (void)is_video;
    cli_error("embed_vision: not built yet");
    return CLI_FAIL;
}
