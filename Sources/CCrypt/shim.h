// libxcrypt (Debian package libcrypt-dev): bcrypt for the htpasswd login backend. Only Crypto/PasswordHash.swift
// imports this module.
#include <crypt.h>
