DROP TABLE authorization_codes;
DROP TABLE authorization_requests;
