"""SeqGAN (Yu et al. 2017) with a Miconi-style plastic discriminator softmax (seed 002), every gradient by hand."""
