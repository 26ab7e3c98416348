#ifndef SESSIONGATE_CHIREDIS_SHIM_H
#define SESSIONGATE_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
