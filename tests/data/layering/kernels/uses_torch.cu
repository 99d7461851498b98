// Breaks "kernels-torch".
#include <ATen/ATen.h>
