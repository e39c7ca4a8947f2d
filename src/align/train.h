/*
 * train.h — internal helpers of the training code shared with experiment.c.
 */
#ifndef SLAVA_ALIGN_TRAIN_H
#define SLAVA_ALIGN_TRAIN_H

/* Number of training stages of a recipe (1 or 2), 0 for an unknown name. */
int al_recipe_stages(const char *name);

#endif
