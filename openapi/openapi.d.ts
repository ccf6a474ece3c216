// Generated from openapi.json by `npm run openapi` (openapi-typescript). Do not edit.

export interface paths {
    "/api/v1/computations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Run a capsule or a pipeline
         * @description Starts a computation. Set capsule_id to run a capsule or pipeline_id to run a pipeline. With an Idempotency-Key, a retry with the same key and body gets the first answer again (header Idempotent-Replayed: true) and never starts a second computation.
         */
        post: operations["runCapsule"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/computations/{computation_id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get a computation */
        get: operations["getComputation"];
        put?: never;
        post?: never;
        /**
         * Delete a computation, stopping it if it runs
         * @description This is also how a running computation is stopped.
         */
        delete: operations["deleteComputation"];
        options?: never;
        head?: never;
        /**
         * Rename a computation
         * @description The new name travels as the `name` query parameter; there is no body.
         */
        patch: operations["renameComputation"];
        trace?: never;
    };
    "/api/v1/computations/{computation_id}/results": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** List one folder of a computation's results */
        post: operations["listComputationResults"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/computations/{computation_id}/results/urls": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Get signed URLs to download or view a result file */
        get: operations["getResultFileUrls"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/computations/{computation_id}/results/download_url": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Get a signed URL to download a result file (deprecated)
         * @deprecated
         * @description Deprecated by Code Ocean since platform 4.0: use getResultFileUrls.
         */
        get: operations["getResultFileDownloadUrl"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/computations/{computation_id}/data_assets": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Attach data assets to a cloud workstation */
        post: operations["attachComputationDataAssets"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/computations/{computation_id}/data_assets/": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Detach data assets from a cloud workstation */
        delete: operations["detachComputationDataAssets"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/capsules/{capsule_id}/computations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a capsule's computations */
        get: operations["listCapsuleComputations"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/pipelines/{pipeline_id}/computations": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List a pipeline's computations */
        get: operations["listPipelineComputations"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/computations/{computation_id}/wait": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Wait until a computation has finished
         * @description Not part of Code Ocean's API. Answers 200 with the Computation exactly as Code Ocean sent it once its state is completed or failed, or 202 with the Computation as it last was when the timeout passes first (or the proxy is shutting down): call again to keep waiting. The proxy polls Code Ocean once per interval for each computation, however many callers wait.
         */
        get: operations["waitForComputation"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/livez": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Is the process alive?
         * @description Not part of Code Ocean's API. 200 while the process runs and its event loop answers, even when overloaded or draining: restart the instance only when this fails.
         */
        get: operations["getLiveness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/readyz": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Should this instance be sent traffic?
         * @description Not part of Code Ocean's API. 200 when the instance is not shutting down, its store answers, the gateway's keys are loaded (with a gateway), the circuit to Code Ocean is not open, the audit trail keeps up and the process is not overloaded; 503 with the failing checks otherwise.
         */
        get: operations["getReadiness"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Prometheus metrics
         * @description Not part of Code Ocean's API. Requests by operationId and status, calls to Code Ocean, retries, shared polls, audit writes, store errors, rate-limit refusals, connections to Code Ocean and the event loop, in Prometheus's text format. Served on a port of its own instead when METRICS_PORT is set.
         */
        get: operations["getMetrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/audit/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search the audit trail
         * @description Audit records, oldest first, filtered and paged. Needs the audit admin key as a Bearer token, or a caller the policy grants audit:read.
         */
        get: operations["listAuditEvents"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description An error. Errors from Code Ocean are passed through unchanged and may carry more fields. */
        Error: {
            /** @description What went wrong and what to do about it. */
            message: string;
            /** @description The HTTP status (proxy errors). */
            statusCode?: number;
            /**
             * @description A stable PROXY_* code (proxy errors).
             * @example PROXY_INVALID_REQUEST
             */
            code?: string;
            /** @description The HTTP reason phrase (proxy errors). */
            error?: string;
            /** @description The X-Request-Id of the failed request (proxy errors). */
            requestId?: string;
        } & {
            [key: string]: unknown;
        };
        DataAssetsRunParam: {
            /**
             * Format: uuid
             * @description The data asset to mount.
             * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
             */
            id: string;
            mount?: string | null;
        };
        NamedRunParam: {
            /** @description The parameter's internal name. */
            param_name: string;
            /** @description The value; always a string. */
            value: string;
        };
        PipelineProcessParams: {
            /** @description The process name, as in main.nf. */
            name: string;
            parameters?: string[] | null;
            named_parameters?: components["schemas"]["NamedRunParam"][] | null;
        };
        /**
         * @description What to run. Every optional field may be null. Unknown fields whose value is null are ignored; any other unknown field is rejected.
         * @example {
         *       "capsule_id": "8a3a4e2c-6c8f-4a8e-9c4b-6f4d3b2a1c0e",
         *       "data_assets": [
         *         {
         *           "id": "44ec16c3-cb5a-45f5-93d1-cba8be800c24",
         *           "mount": "Reference"
         *         }
         *       ],
         *       "parameters": [
         *         "75",
         *         "1",
         *         "HS25",
         *         "SingleEnded",
         *         "",
         *         ""
         *       ]
         *     }
         * @example {
         *       "capsule_id": "8a3a4e2c-6c8f-4a8e-9c4b-6f4d3b2a1c0e",
         *       "named_parameters": [
         *         {
         *           "param_name": "threshold",
         *           "value": "0.5"
         *         },
         *         {
         *           "param_name": "mode",
         *           "value": "fast"
         *         }
         *       ]
         *     }
         * @example {
         *       "pipeline_id": "0e1d2c3b-4a59-4687-9a8b-7c6d5e4f3a2b",
         *       "data_assets": [
         *         {
         *           "id": "44ec16c3-cb5a-45f5-93d1-cba8be800c24",
         *           "mount": "Reference"
         *         }
         *       ],
         *       "processes": [
         *         {
         *           "name": "capsule_align_reads_1",
         *           "named_parameters": [
         *             {
         *               "param_name": "min_quality",
         *               "value": "30"
         *             }
         *           ]
         *         }
         *       ]
         *     }
         */
        RunParams: {
            capsule_id?: string | null;
            pipeline_id?: string | null;
            version?: number | null;
            resume_run_id?: string | null;
            nextflow_profile?: string | null;
            data_assets?: components["schemas"]["DataAssetsRunParam"][] | null;
            parameters?: string[] | null;
            named_parameters?: components["schemas"]["NamedRunParam"][] | null;
            processes?: components["schemas"]["PipelineProcessParams"][] | null;
        };
        /**
         * @example {
         *       "path": ""
         *     }
         * @example {
         *       "path": "figures"
         *     }
         */
        ListFolderParams: {
            /** @description A folder inside the results; "" is the results root. */
            path: string;
        };
        DataAssetAttachParams: {
            /**
             * Format: uuid
             * @description The data asset to attach.
             * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
             */
            id: string;
            mount?: string | null;
        };
        /** @description Data assets to attach to a cloud workstation. */
        DataAssetAttachList: components["schemas"]["DataAssetAttachParams"][];
        /** @description Ids of the data assets to detach from a cloud workstation. */
        DataAssetDetachList: string[];
        InputDataAsset: {
            id: string;
            mount?: string;
        } & {
            [key: string]: unknown;
        };
        Param: {
            /** @description The label. */
            name?: string;
            /** @description The internal name. */
            param_name?: string;
            value?: string;
        } & {
            [key: string]: unknown;
        };
        PipelineProcess: {
            /** @description The process name, as in main.nf. */
            name: string;
            capsule_id: string;
            /** @description The release version of the capsule. */
            version?: number;
            /** @description A Code Ocean public app. */
            public?: boolean;
            parameters?: components["schemas"]["Param"][];
        } & {
            [key: string]: unknown;
        };
        ComputationState: "initializing" | "running" | "finalizing" | "completed" | "failed";
        ComputationEndStatus: "succeeded" | "failed" | "stopped";
        Computation: {
            /** @description The computation id (a UUID). */
            id: string;
            /** @description Creation time, Unix seconds. */
            created: number;
            name: string;
            /** @description The owning user's id (platform 4.3 and later); `release` for release capsules. */
            owner?: string;
            owner_email?: string;
            /** @description Seconds run so far. */
            run_time: number;
            state: components["schemas"]["ComputationState"];
            cloud_workstation?: boolean;
            data_assets?: components["schemas"]["InputDataAsset"][];
            parameters?: components["schemas"]["Param"][];
            nextflow_profile?: string;
            processes?: components["schemas"]["PipelineProcess"][];
            end_status?: components["schemas"]["ComputationEndStatus"];
            /** @description Present once completed; 0 is success. */
            exit_code?: number;
            has_results?: boolean;
        } & {
            [key: string]: unknown;
        };
        ComputationList: components["schemas"]["Computation"][];
        FolderItem: {
            name: string;
            /** @description Relative to the results root. */
            path: string;
            type: "file" | "folder";
            /** @description Bytes (files). */
            size?: number;
        } & {
            [key: string]: unknown;
        };
        Folder: {
            items: components["schemas"]["FolderItem"][];
        } & {
            [key: string]: unknown;
        };
        FileURLs: {
            /** @description A signed URL to download the file directly (no Code Ocean credential needed). */
            download_url: string;
            /** @description A signed URL to view the file in a browser. */
            view_url: string;
        } & {
            [key: string]: unknown;
        };
        DownloadFileURL: {
            /** @description A signed URL to download the file directly. */
            url: string;
        } & {
            [key: string]: unknown;
        };
        DataAssetAttachResults: {
            id: string;
            mount_state?: string;
            job_id?: string;
            external?: boolean;
            ready?: boolean;
            mount?: string;
        } & {
            [key: string]: unknown;
        };
        DataAssetAttachResultsList: components["schemas"]["DataAssetAttachResults"][];
        /** @description An audit record, as stored and hashed, with its chain hash. */
        AuditEvent: {
            auditId: string;
            stage: "received" | "completed";
            recordedAt: string;
            instanceId: string;
            seq: number;
            /** @description This record's link in its instance's hash chain. */
            hash: string;
        } & {
            [key: string]: unknown;
        };
        AuditEventPage: {
            events: components["schemas"]["AuditEvent"][];
            /** @description Pass as cursor for the next page; null on the last. */
            next_cursor: string | null;
        };
        /** @description The process is running and its event loop answers. */
        Liveness: {
            /** @enum {string} */
            status: "alive";
        };
        /** @description Whether this instance should be sent traffic, and each check. */
        Readiness: {
            status: "ready" | "not ready";
            /** @description Which checks failed, when not ready. */
            message?: string;
            /** @description draining (shutting down), load (not overloaded), store (answers a ping), gateway (signing keys loaded; only with a gateway), upstream (the circuit to Code Ocean is not open), audit (the audit trail is keeping up). */
            checks: {
                [key: string]: {
                    ok: boolean;
                    /** @description Why not, when not ok. */
                    message?: string;
                };
            };
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    runCapsule: {
        parameters: {
            query?: never;
            header?: {
                /** @description A unique value per intended run (e.g. a UUID), reused only to retry that run: the retry gets the first answer again. Keys belong to their caller and expire after IDEMPOTENCY_TTL_HOURS. */
                "idempotency-key"?: string;
            };
            path?: never;
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RunParams"];
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Computation"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A run with this Idempotency-Key is still in progress, or its outcome is unknown (see the message). */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is larger than the proxy accepts. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is not JSON. */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description This Idempotency-Key was used for a run with a different body. */
            422: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getComputation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Computation"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    deleteComputation: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Done; no body. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    renameComputation: {
        parameters: {
            query: {
                /** @description The new name: no control characters, no bidirectional overrides or isolates. */
                name: string;
            };
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Done; no body. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listComputationResults: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ListFolderParams"];
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Folder"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is larger than the proxy accepts. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is not JSON. */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getResultFileUrls: {
        parameters: {
            query: {
                /** @description The file, relative to the results root. */
                path: string;
            };
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["FileURLs"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getResultFileDownloadUrl: {
        parameters: {
            query: {
                /** @description The file, relative to the results root. */
                path: string;
            };
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DownloadFileURL"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    attachComputationDataAssets: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DataAssetAttachList"];
            };
        };
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DataAssetAttachResultsList"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is larger than the proxy accepts. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is not JSON. */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    detachComputationDataAssets: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["DataAssetDetachList"];
            };
        };
        responses: {
            /** @description Done; no body. */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is larger than the proxy accepts. */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The request body is not JSON. */
            415: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listCapsuleComputations: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The capsule id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                capsule_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ComputationList"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listPipelineComputations: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /**
                 * @description The pipeline id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                pipeline_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ComputationList"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    waitForComputation: {
        parameters: {
            query?: {
                /** @description Seconds to wait at most (1 to 9999; capped at WAIT_MAX_SECONDS, which is also the default). */
                timeout?: string;
            };
            header?: never;
            path: {
                /**
                 * @description The computation id.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Computation"];
                };
            };
            /** @description Still running when the timeout passed: the computation as it last was. */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Computation"];
                };
            };
            /** @description Invalid request (rejected by the proxy before reaching Code Ocean), or rejected by Code Ocean. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No caller identity was proven: send a service key (Basic username or Bearer) or come through the SSO gateway. See WWW-Authenticate. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The proxy's policy does not grant this action (PROXY_FORBIDDEN), or Code Ocean refused it for the proxy's token. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No such resource, or a computation the caller may not see (answered alike). */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description A path segment is longer than any Code Ocean id. */
            414: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests: the caller's rate limit (PROXY_RATE_LIMITED) or share of the calls to Code Ocean (PROXY_UPSTREAM_SHARE_EXCEEDED), too many without a credential, or with failing ones, from this address (PROXY_UNAUTHENTICATED_LIMITED), or Code Ocean's own; see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean, or the proxy, failed. */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean could not be reached, reset the connection, or rejected the proxy's own token. */
            502: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean or the proxy is unavailable; see Retry-After. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Code Ocean did not answer in time. */
            504: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getLiveness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The process is running and its event loop answers. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Liveness"];
                };
            };
            /** @description A query string was given; this endpoint takes none. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests without a credential, or with failing ones, from this address (UNAUTHENTICATED_PER_MINUTE); see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getReadiness: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Whether this instance should be sent traffic, and each check. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
            /** @description A query string was given; this endpoint takes none. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests without a credential, or with failing ones, from this address (UNAUTHENTICATED_PER_MINUTE); see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Not ready: see the failing checks. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Readiness"];
                };
            };
        };
    };
    getMetrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text exposition format 0.0.4. */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description A query string was given; this endpoint takes none. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description Too many requests without a credential, or with failing ones, from this address (UNAUTHENTICATED_PER_MINUTE); see Retry-After. */
            429: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    listAuditEvents: {
        parameters: {
            query?: {
                /** @description An operationId, e.g. deleteComputation. */
                action?: string;
                /**
                 * @description Records about this computation.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                computation_id?: string;
                /**
                 * @description Records about runs of this capsule.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                capsule_id?: string;
                /**
                 * @description Records about runs of this pipeline.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                pipeline_id?: string;
                /**
                 * @description Records of runs that resume this computation.
                 * @example 5f5c3c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f
                 */
                resume_run_id?: string;
                /** @description Records of this caller (its subject). */
                actor?: string;
                stage?: "received" | "completed";
                /** @description success: status below 400; client_error: 400–499 (499: the caller left); server_error: 500 and above. Only completed records have one. */
                outcome?: "success" | "client_error" | "server_error";
                /** @description Records at or after this time (UTC, ISO-8601). */
                since?: string;
                /** @description Records before this time (UTC, ISO-8601). */
                until?: string;
                /** @description Records per page, 1 to 1000 (default 100). */
                limit?: string;
                /** @description next_cursor from the previous page. */
                cursor?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Default Response */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AuditEventPage"];
                };
            };
            /** @description Invalid query. */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description No or wrong audit admin key, and no proven caller. */
            401: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The caller is not granted audit:read, or audit queries are disabled. */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
            /** @description The audit store cannot be read. */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
}
