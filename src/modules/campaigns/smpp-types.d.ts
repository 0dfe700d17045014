/**
 * The part of the `smpp` package (0.5.1, plain CommonJS, no types published) that the SMPP provider
 * and its test use. A PDU carries its parameters and TLVs as plain properties named as in the SMPP
 * specification; only those read here are typed, the rest stay `unknown`.
 */
declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer } from 'node:net';

  namespace smpp {
    type Params = Record<string, unknown>;

    class PDU {
      constructor(command: string, options?: Params);
      [param: string]: unknown;
      command: string;
      command_status: number;
      sequence_number: number;
      /** submit_sm_resp. */
      message_id?: string;
      /** bind_*. */
      system_id?: string;
      password?: string;
      /** submit_sm, deliver_sm. */
      source_addr?: string;
      source_addr_ton?: number;
      source_addr_npi?: number;
      destination_addr?: string;
      dest_addr_ton?: number;
      dest_addr_npi?: number;
      esm_class?: number;
      data_coding?: number;
      registered_delivery?: number;
      /** Decoded by the package on receipt: `{ udh?, message }` for a known data_coding, else the octets. */
      short_message?: Buffer | { udh?: Buffer[]; message: string | Buffer };
      /** TLVs of a delivery receipt. */
      receipted_message_id?: string;
      message_state?: number;
      isResponse(): boolean;
      response(options?: Params): PDU;
    }

    type ResponseCallback = (pdu: PDU) => void;
    type Shortcut = (options: Params, onResponse?: ResponseCallback) => boolean;

    interface Session extends EventEmitter {
      socket: import('node:net').Socket;
      /** Returns false (and never calls back) when the socket is not writable. */
      send(pdu: PDU, onResponse?: ResponseCallback): boolean;
      bind_transceiver: Shortcut;
      submit_sm: Shortcut;
      deliver_sm: Shortcut;
      enquire_link(onResponse?: ResponseCallback): boolean;
      unbind(onResponse?: ResponseCallback): boolean;
      /** Ends the socket (graceful); `destroy` drops it. */
      close(onClosed?: () => void): void;
      destroy(onClosed?: () => void): void;
      pause(): void;
      resume(): void;
    }

    interface Server extends NetServer {
      sessions: Session[];
    }

    /** How the package turns a parameter into octets and back; `this` is the PDU. */
    interface Filter {
      encode(this: PDU, value: unknown): unknown;
      decode(this: PDU, value: unknown, skipUdh?: unknown): unknown;
    }
    interface FieldDefinition { filter?: Filter }

    function connect(options: { url: string }): Session;
    function createServer(onSession: (session: Session) => void): Server;

    /** command_status values by name (ESME_ROK, ESME_RTHROTTLED ...). */
    const errors: Record<string, number>;
    const commands: Record<string, { id: number; params?: Record<string, FieldDefinition> }>;
    const tlvs: Record<string, FieldDefinition & { id: number }>;
  }

  export = smpp;
}
