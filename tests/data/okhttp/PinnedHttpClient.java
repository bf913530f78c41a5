package com.example.shop.legacy.net;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import okhttp3.CertificatePinner;
import okhttp3.OkHttpClient;

/** OkHttp client of the 4.x Java code base; pins reviewed 2026-05. */
public final class PinnedHttpClient {
    private static final String API_HOST = "api.example.com";
    private static final String PIN_PREFIX = "sha256/";
    static final String PIN_LEAF_2026 = PIN_PREFIX + "C5+lpZ7tcVwmwQIMcRtPbsQtWLABXhQzejna0wHFr8M=";
    static final String PIN_LEAF_BACKUP = "sha256/jQJTbIh0grw0/1TkHSumWb+Fs0Ggogr621gT3PvPKG0=";
    private static final String[] CDN_PINS = {
        "sha256/r/mIkG3eEpVdm+u/ko/cwxzOMo1bk4TyHIlByibiA5E=",
        "sha256/++MBgDH5WGvL9Bcn5Be30cRcL0f5O+NyoXuWtQdX1aI=",
    };
    private static final List<String> TOKEN_HOSTS = Arrays.asList("auth.example.com");

    private PinnedHttpClient() {
    }

    public static OkHttpClient create() {
        CertificatePinner.Builder pins = new CertificatePinner.Builder();
        pins.add(API_HOST, PIN_LEAF_2026, PIN_LEAF_BACKUP);
        pins.add("**.cdn.example.com", CDN_PINS); /* any CDN edge */
        String hostname = "auth.example.com";
        return new OkHttpClient.Builder()
                .readTimeout(30, TimeUnit.SECONDS)
                .certificatePinner(pins
                        .add(hostname, "sha256/hxqRlPTu1bMS/0DITB1SSu0vd4u/8l8TjPgfaAp63Gc=")
                        .add(hostname,
                                "sha256/diGVwiVYbubAI3RW4hB9xU8e/CH2GnkuvVFZE8zmgzI=")
                        .build())
                .build();
    }
}
